package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the client goes away its command gets SIGHUP; nohup and setsid outlive it, as with sshd. */
@Tag("e2e")
class HangupTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void commandGetsHangupWhenTheClientGoesAway() throws Exception {
    Path hup = gateway.sandboxDir(GatewayFixture.SANDBOX).resolve("hup.txt");
    Process client =
        OpenSsh.start(
            ssh.sshCommand(
                GatewayFixture.SANDBOX,
                "trap \"echo hup > ~/hup.txt; exit 1\" HUP; echo ready; while :; do sleep 0.1; done"));
    try {
      assertThat(OpenSsh.firstLine(client)).isEqualTo("ready");
      assertThat(hup).doesNotExist();
      client.destroy();
      Eventually.until(
          "hup.txt written by the HUP trap", Timeouts.EVENTUALLY, () -> Files.exists(hup));
      Eventually.until("hup.txt complete", Timeouts.EVENTUALLY, () -> "hup\n".equals(read(hup)));
    } finally {
      client.destroyForcibly();
    }
  }

  @Test
  void foregroundWorkDoesNotOutliveTheClient() throws Exception {
    Process client =
        OpenSsh.start(ssh.sshCommand(GatewayFixture.SANDBOX, "echo ready; sleep 301; echo after"));
    try {
      assertThat(OpenSsh.firstLine(client)).isEqualTo("ready");
      // The shell prints "ready" before it forks the sleep, so the sleep may not exist yet.
      Eventually.until(
          "the command's sleep is running",
          Timeouts.EVENTUALLY,
          () -> SandboxProcesses.withCommandLine("sleep 301").size() == 1);
      client.destroy();
      Eventually.until(
          "the command's sleep is gone",
          Timeouts.EVENTUALLY,
          () -> SandboxProcesses.withCommandLine("sleep 301").isEmpty());
    } finally {
      client.destroyForcibly();
    }
  }

  @Test
  void nohupAndSetsidOutliveTheSession() throws Exception {
    Path home = gateway.sandboxDir(GatewayFixture.SANDBOX);
    Process client =
        OpenSsh.start(
            ssh.sshCommand(
                GatewayFixture.SANDBOX,
                "nohup sh -c 'echo $$ > ~/nohup.pid; sleep 2; echo alive > ~/nohup.txt'"
                    + " >/dev/null 2>&1 &"
                    + " setsid sh -c 'echo $$ > ~/setsid.pid; sleep 2; echo alive > ~/setsid.txt'"
                    + " </dev/null >/dev/null 2>&1 &"
                    + " echo ready; sleep 300"));
    try {
      assertThat(OpenSsh.firstLine(client)).isEqualTo("ready");
      // Hang up only once both are past nohup and setsid (as their pid files show).
      Eventually.until(
          "both background commands started",
          Timeouts.EVENTUALLY,
          () ->
              Files.exists(home.resolve("nohup.pid")) && Files.exists(home.resolve("setsid.pid")));
      client.destroy();
      assertThat(client.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
      Eventually.until(
          "nohup.txt and setsid.txt written after the session ended",
          Timeouts.EVENTUALLY,
          () ->
              "alive\n".equals(read(home.resolve("nohup.txt")))
                  && "alive\n".equals(read(home.resolve("setsid.txt"))));
    } finally {
      client.destroyForcibly();
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      return null;
    }
  }
}
