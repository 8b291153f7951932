package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How long a named session lives: through the agent's idle stop, until its detached timeout. */
@Tag("e2e")
class DetachedLifetimeTest {
  /** Agents with no session stop after this: far shorter than the detached timeout. */
  private static final Duration IDLE = Duration.ofSeconds(1);

  private static final Duration DETACHED = Duration.ofSeconds(5);

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway =
        GatewayFixture.start(
            Files.createDirectories(dir.resolve("gw")), IDLE, new GatewayConfig.Sessions(DETACHED));
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void anAbandonedSessionKeepsItsAgentUpUntilTheDetachedTimeoutEndsIt() throws Exception {
    try (SshTerminal session = SshTerminal.open(ssh, GatewayFixture.SANDBOX + "+brief")) {
      session.type("echo here-$((2+2))\n").await("here-4");
      session.kill();
    }
    long detached = System.nanoTime();
    // Well past the idle timeout, well before the detached one: the agent must have stayed up.
    Thread.sleep(IDLE.multipliedBy(3).toMillis());
    assertThat(SandboxProcesses.agentOf(gateway, GatewayFixture.SANDBOX))
        .as("the agent holding a detached session is not stopped as idle")
        .isPresent();
    assertThat(Duration.ofNanos(System.nanoTime() - detached)).isLessThan(DETACHED);

    Eventually.until(
        "the agent stops once the detached timeout ended the session",
        Timeouts.EVENTUALLY,
        () -> SandboxProcesses.agentOf(gateway, GatewayFixture.SANDBOX).isEmpty());
    OpenSsh.Result table = ssh.ssh(GatewayFixture.SANDBOX + "+ps", null);
    assertThat(table.exitCode()).isZero();
    assertThat(table.stdout()).doesNotContain("brief");
  }
}
