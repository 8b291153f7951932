package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.OpenDescriptors;
import dev.sandboxssh.gateway.bridge.ProcessBridge;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code ssh demo@gateway COMMAND} with the OpenSSH client. */
@Tag("e2e")
class ExecTest {
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
  void runsCommandAndReturnsItsOutput() {
    OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "echo hello from $(hostname)");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("hello from demo\n");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 7, 42, 126, 127, 128, 129, 130, 143, 200, 254, 255})
  void passesExitStatusThroughExactly(int status) {
    OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "exit " + status);
    assertThat(r.exitCode()).as(r.stderr()).isEqualTo(status);
    assertThat(r.stderr()).isEmpty();
  }

  @Test
  void keepsStdoutAndStderrApart() {
    OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "echo out; echo err >&2; echo out2");
    assertThat(r.stdout()).isEqualTo("out\nout2\n");
    assertThat(r.stderr()).isEqualTo("err\n");
  }

  @Test
  void theGatewayHoldsTheCommandsOwnPipes() throws Exception {
    // A local agent hands the command's stdio to the gateway, so bulk bytes skip the agent: the
    // pipe the command writes to is open in the gateway's own process (this JVM).
    Process client =
        OpenSsh.start(ssh.sshCommand(GatewayFixture.SANDBOX, "readlink /proc/self/fd/1; sleep 30"));
    try {
      String pipe = OpenSsh.firstLine(client);
      assertThat(pipe).startsWith("pipe:[");
      assertThat(OpenDescriptors.ofThisProcess()).contains(pipe);
    } finally {
      client.destroyForcibly();
    }
  }

  @Test
  void aCommandQuietForLongerThanTheIdleParkDeliversEverything() {
    // Its output streams park while it sleeps (no gateway thread waits on them) and resume.
    long quiet = ProcessBridge.IDLE_PARK.plusSeconds(1).toSeconds();
    OpenSsh.Result r =
        ssh.ssh(
            GatewayFixture.SANDBOX,
            "echo early; sleep " + quiet + "; echo late-$((2+4)); echo err-late >&2; exit 4");
    assertThat(r.exitCode()).as(r.stderr()).isEqualTo(4);
    assertThat(r.stdout()).isEqualTo("early\nlate-6\n");
    assertThat(r.stderr()).isEqualTo("err-late\n");
  }

  @Test
  void streamsStdinAndDeliversEof() {
    byte[] input = "line one\nline two\n".getBytes(StandardCharsets.UTF_8);
    OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "wc -l; echo done", input, Timeouts.COMMAND);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("2\ndone\n");
  }
}
