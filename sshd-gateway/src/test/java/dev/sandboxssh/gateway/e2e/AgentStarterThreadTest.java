package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent outlives the session thread that happened to start it. bwrap's --die-with-parent fires
 * when the forking thread exits; an sftp session's thread ends with the session, and an agent that
 * thread started used to die some milliseconds later, so the next session paid a cold start (or
 * lost its transfer mid-way).
 */
@Tag("e2e")
class AgentStarterThreadTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void anAgentStartedBySftpLivesOnAfterTheSession() throws Exception {
    FileClients clients = new FileClients(gateway.ssh(), dir);
    ProcessHandle agent;
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.session")) {
      // The sandbox's first session is sftp: its subsystem thread starts the agent.
      OpenSsh.Result sftp = clients.sftpBatch(GatewayFixture.SANDBOX, "pwd");
      assertThat(sftp.exitCode()).as(sftp.stderr()).isZero();
      agent = SandboxProcesses.agentOf(gateway, GatewayFixture.SANDBOX).orElseThrow();
      Eventually.until(
          "the sftp session to end", Timeouts.EVENTUALLY, () -> log.count("session end") > 0);
    }

    // The session and its thread are gone; the next session must find the same agent.
    OpenSsh.Result next = gateway.ssh().ssh(GatewayFixture.SANDBOX, "echo still");
    assertThat(next.stdout()).as(next.stderr()).isEqualTo("still\n");
    assertThat(agent.isAlive()).as("the agent the sftp session started").isTrue();
    assertThat(SandboxProcesses.agentOf(gateway, GatewayFixture.SANDBOX).orElseThrow().pid())
        .isEqualTo(agent.pid());
  }
}
