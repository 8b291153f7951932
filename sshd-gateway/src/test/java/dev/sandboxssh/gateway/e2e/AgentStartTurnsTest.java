package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.routing.LocalSandboxProvider;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * local.agent-starts: agents start a few at a time, since a start is bound by CPU. A cold login
 * past the limit waits for a turn, says so in the start's log line, and is served like any other.
 */
@Tag("e2e")
class AgentStartTurnsTest {
  @TempDir Path dir;

  @Test
  void coldLoginsPastTheLimitWaitForATurnAndAreServed() throws Exception {
    List<String> ids = List.of("turn-a", "turn-b", "turn-c");
    ExecutorService pool = Executors.newFixedThreadPool(ids.size());
    try (LogCapture log = LogCapture.of(LocalSandboxProvider.class.getName());
        GatewayFixture gateway =
            GatewayFixture.start(dir, c -> c.withLocal(c.local().withAgentStarts(1)))) {
      for (String id : ids) {
        gateway.addSandbox(id, GatewayFixture.OWNER);
      }
      // Three first logins at once, with no spare: three agents to start, one at a time.
      List<CompletableFuture<OpenSsh.Result>> logins = new ArrayList<>();
      for (String id : ids) {
        logins.add(CompletableFuture.supplyAsync(() -> gateway.ssh().ssh(id, "hostname"), pool));
      }
      for (int i = 0; i < ids.size(); i++) {
        OpenSsh.Result r = logins.get(i).get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.stdout()).as(r.stderr()).isEqualTo(ids.get(i) + "\n");
      }
      List<String> started =
          log.messages().stream().filter(m -> m.startsWith("agent started:")).toList();
      assertThat(started).hasSize(ids.size());
      // Each start takes a JVM's start-up, far longer than the three logins are apart: at least
      // the last one waited for a turn (without the limit, none would).
      assertThat(started).anyMatch(m -> m.matches(".*, \\d+ ms of it waiting for a turn\\)$"));
      assertThat(String.join("\n", log.messages())).doesNotContain("no turn to start");
    } finally {
      pool.shutdownNow();
    }
  }
}
