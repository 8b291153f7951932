package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Agents that cannot be reached, do not answer, or die mid-session. */
@Tag("e2e")
class AgentFailureTest {
  @TempDir static Path dir;

  /** Remote sandboxes with the short test connect timeout. */
  static GatewayFixture gateway;

  static OpenSsh ssh;

  /**
   * Local sandboxes, with the fixture's usual timeout: starting an agent JVM on a busy two-core
   * machine takes longer than the short one.
   */
  static GatewayFixture local;

  static OpenSsh localSsh;

  @BeforeAll
  static void start() throws Exception {
    // Short dir names: agent sockets live below them, and a unix socket path is short.
    gateway =
        GatewayFixture.start(
            Files.createDirectories(dir.resolve("r")),
            Timeouts.AGENT_CONNECT,
            GatewayConfig.Isolation.REQUIRED);
    ssh = gateway.ssh();
    local = GatewayFixture.start(Files.createDirectories(dir.resolve("l")));
    localSsh = local.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    local.close();
  }

  @Test
  void closedPortEndsTheSessionAtOnceWithOneLine() throws Exception {
    gateway.addRemoteSandbox(
        "gone", GatewayFixture.OWNER, SilentTcpServer.closedEndpoint(), "token");
    long started = System.nanoTime();
    OpenSsh.Result r = ssh.ssh("gone", "echo should-not-run");
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    assertThat(r.exitCode()).isEqualTo(255);
    assertThat(r.stdout()).isEmpty();
    assertThat(r.stderr()).matches("sandbox gone is not running: [^\\n]+\\n");
    assertThat(took).isLessThan(Timeouts.AGENT_CONNECT);
  }

  @Test
  void silentAgentEndsTheSessionWithinTheConnectTimeout() throws Exception {
    try (SilentTcpServer silent = new SilentTcpServer()) {
      gateway.addRemoteSandbox("silent", GatewayFixture.OWNER, silent.endpoint(), "token");
      long started = System.nanoTime();
      OpenSsh.Result r = ssh.ssh("silent", "echo should-not-run");
      Duration took = Duration.ofNanos(System.nanoTime() - started);

      assertThat(r.exitCode()).isEqualTo(255);
      assertThat(r.stderr())
          .isEqualTo(
              "sandbox silent: agent did not answer in "
                  + Timeouts.AGENT_CONNECT.toSeconds()
                  + " s\n");
      assertThat(silent.connections()).isPositive();
      assertThat(took).isLessThan(Timeouts.AGENT_CONNECT.plusSeconds(5));
    }
  }

  @Test
  void agentDyingEndsOnlyItsOwnSandboxesSessions() throws Exception {
    local.addSandbox("other", GatewayFixture.OWNER);
    Process victim =
        OpenSsh.start(localSsh.sshCommand(GatewayFixture.SANDBOX, "echo started; sleep 300"));
    Process bystander =
        OpenSsh.start(localSsh.sshCommand("other", "echo started; read line; echo got-$line"));
    try {
      assertThat(OpenSsh.firstLine(victim)).isEqualTo("started");
      assertThat(OpenSsh.firstLine(bystander)).isEqualTo("started");

      ProcessHandle agent = SandboxProcesses.agentOf(local, GatewayFixture.SANDBOX).orElseThrow();
      assertThat(SandboxProcesses.agentOf(local, "other")).isPresent();
      agent.destroyForcibly();

      assertThat(victim.waitFor(Timeouts.EVENTUALLY.toSeconds(), TimeUnit.SECONDS))
          .as("the session of the dead agent ends")
          .isTrue();
      String stderr = new String(victim.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(victim.exitValue()).as(stderr).isEqualTo(255);
      assertThat(stderr).matches("sandbox demo[: ][^\\n]+\\n");

      try (OutputStream in = bystander.getOutputStream()) {
        in.write("ping\n".getBytes(StandardCharsets.UTF_8));
      }
      assertThat(bystander.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(new String(bystander.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("got-ping\n");
      assertThat(bystander.exitValue()).isZero();
    } finally {
      victim.destroyForcibly();
      bystander.destroyForcibly();
    }

    // The next session gets a fresh agent.
    OpenSsh.Result again = localSsh.ssh(GatewayFixture.SANDBOX, "echo again");
    assertThat(again.stdout()).as(again.stderr()).isEqualTo("again\n");
    assertThat(again.exitCode()).isZero();
  }
}
