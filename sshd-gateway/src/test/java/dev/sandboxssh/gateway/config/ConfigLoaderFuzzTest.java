package dev.sandboxssh.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.testing.AllocationBudget;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * A config file's text, whatever it is, gives a {@link GatewayConfig} or a {@link ConfigException}
 * naming the file: no other exception (which the CLI would report as an internal failure with a
 * stack trace), no hang, and no allocation out of proportion to a file that is at most 1 MiB.
 *
 * <p>Seeds: {@code ConfigLoaderFuzzTestInputs/parse/} (the shipped config/gateway.yaml among them).
 */
class ConfigLoaderFuzzTest {
  /** Far above what parsing a few KiB of YAML takes (well under 1 MiB), far below a runaway. */
  private static final AllocationBudget budget = AllocationBudget.thisThread(32 << 20);

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom).
  @Timeout(value = 5, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  // YAML that the mutator would be slow to spell: explicit tags, anchors, merge keys, documents.
  // No line breaks: libFuzzer's dictionary file format cannot hold them as Jazzer writes it.
  @DictionaryEntries({
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!str ",
    "!!null ",
    "!!binary ",
    "!!timestamp ",
    "!!map ",
    "!!seq ",
    "!!set ",
    "!!omap ",
    "!!pairs ",
    "&a ",
    "*a",
    "<<: ",
    "? ",
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:yaml.org,2002:",
    "0x",
    "0o",
    "1_000",
    ".inf",
    "1:20",
  })
  void parse(byte[] input) throws Exception {
    String text = new String(input, StandardCharsets.UTF_8);
    budget.run("parsing " + input.length + " bytes of YAML", () -> parse(text));
  }

  private static void parse(String text) {
    try {
      GatewayConfig config = ConfigLoader.parse(text, "fuzz.yaml");
      assertThat(config).isNotNull();
    } catch (ConfigException e) {
      assertThat(e.getMessage()).startsWith("fuzz.yaml: ");
      assertThat(e.problems()).isNotEmpty().doesNotContainNull();
    }
  }
}
