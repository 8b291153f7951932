package dev.sandboxssh.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class AgentArgumentsTest {
  @Test
  void takesEveryOptionInBothForms() throws Exception {
    AgentArguments a =
        AgentArguments.parse(
            "--listen",
            "unix:/run/a.sock",
            "--token-file=/run/token",
            "--root",
            "/srv/box",
            "--home=/home/user",
            "--envd-listen",
            "127.0.0.1:49983",
            "--exit-with-stdin",
            "--own-pid-namespace");
    assertThat(a)
        .isEqualTo(
            new AgentArguments(
                "unix:/run/a.sock",
                Path.of("/run/token"),
                Path.of("/srv/box"),
                Path.of("/home/user"),
                "127.0.0.1:49983",
                true,
                true));
  }

  @Test
  void optionalOnesDefaultToAbsent() throws Exception {
    AgentArguments a = AgentArguments.parse("--token-file", "t", "--listen", "127.0.0.1:0");
    assertThat(a.root()).isNull();
    assertThat(a.home()).isNull();
    assertThat(a.envdListen()).isNull();
    assertThat(a.exitWithStdin()).isFalse();
    assertThat(a.ownPidNamespace()).isFalse();
  }

  @Test
  void namesEveryProblemAtOnce() {
    assertThatThrownBy(() -> AgentArguments.parse("--bogus", "--exit-with-stdin=yes", "--root"))
        .isInstanceOf(AgentArguments.UsageException.class)
        .hasMessage(
            String.join(
                "\n",
                "unknown option: '--bogus'",
                "--exit-with-stdin takes no value",
                "missing value for --root",
                "missing required option: '--listen=ADDR'",
                "missing required option: '--token-file=FILE'"));
  }

  @Test
  void helpAndVersionAreTextToPrint() {
    assertThatThrownBy(() -> AgentArguments.parse("--listen", "x", "--help"))
        .isInstanceOf(AgentArguments.InfoRequested.class)
        .hasMessageContaining("--token-file FILE")
        .hasMessageContaining("--own-pid-namespace");
    assertThatThrownBy(() -> AgentArguments.parse("-V"))
        .isInstanceOf(AgentArguments.InfoRequested.class)
        .hasMessageStartingWith("sandbox-agent ");
  }
}
