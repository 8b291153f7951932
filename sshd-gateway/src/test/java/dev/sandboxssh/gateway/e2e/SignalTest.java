package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.sshd.client.channel.ChannelExec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code signal} requests reach the process; a process killed by a signal ends in exit-signal. */
@Tag("e2e")
class SignalTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static MinaClient mina;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    mina = MinaClient.connect(gateway);
  }

  @AfterAll
  static void stop() throws IOException {
    mina.close();
    gateway.close();
  }

  @Test
  void signalsReachATrappingProcessAndUnknownNamesAreIgnored() throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    ChannelExec exec =
        exec(
            "trap 'echo got-INT' INT; trap 'echo got-TERM' TERM; trap 'echo got-USR1; exit 7' USR1;"
                + " echo ready; while :; do sleep 0.1; done",
            out);
    out.await("ready", Timeouts.COMMAND);

    MinaClient.sendSignal(exec, "INT");
    out.await("got-INT", Timeouts.COMMAND);
    MinaClient.sendSignal(exec, "TERM");
    out.await("got-TERM", Timeouts.COMMAND);
    MinaClient.sendSignal(exec, "NO-SUCH-SIGNAL");
    MinaClient.sendSignal(exec, "USR1");
    out.await("got-USR1", Timeouts.COMMAND);

    MinaClient.awaitExit(exec, Timeouts.COMMAND);
    assertThat(out.text()).isEqualTo("ready\ngot-INT\ngot-TERM\ngot-USR1\n");
    assertThat(exec.getExitStatus()).isEqualTo(7);
    assertThat(exec.getExitSignal()).isNull();
  }

  @Test
  void processKilledByASignalEndsWithExitSignal() throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    ChannelExec exec = exec("echo ready; exec sleep 300", out);
    out.await("ready", Timeouts.COMMAND);
    MinaClient.sendSignal(exec, "TERM");
    MinaClient.awaitExit(exec, Timeouts.COMMAND);
    assertThat(exec.getExitSignal()).isEqualTo("TERM");
    assertThat(exec.getExitStatus()).isNull();
  }

  @Test
  void processKillingItselfEndsWithExitSignal() throws IOException {
    ChannelExec exec = exec("kill -KILL $$", new MinaClient.Output());
    MinaClient.awaitExit(exec, Timeouts.COMMAND);
    assertThat(exec.getExitSignal()).isEqualTo("KILL");
  }

  @Test
  void openSshExitsWith255OnExitSignal() throws IOException {
    // 255 is also what ssh returns for its own failures. Its debug log goes to a file, so that
    // stderr holds only what the session sent and what ssh itself says went wrong.
    Path log = dir.resolve("exit-signal-ssh.log");
    OpenSsh.Result r =
        gateway
            .ssh()
            .ssh(
                GatewayFixture.SANDBOX,
                "echo before; kill -TERM $$; echo after",
                "-o",
                "LogLevel=DEBUG1",
                "-E",
                log.toString());
    assertThat(r.stdout()).as(r.stderr()).isEqualTo("before\n");
    assertThat(r.stderr()).isEmpty();
    assertThat(r.exitCode()).isEqualTo(255);
    // What ended the channel, as the client logged it.
    List<String> requests =
        Files.readAllLines(log).stream()
            .filter(line -> line.contains("client_input_channel_req"))
            .map(line -> line.replaceFirst(".* rtype ", "rtype "))
            .toList();
    assertThat(requests).containsExactly("rtype exit-signal reply 0");
  }

  private static ChannelExec exec(String command, MinaClient.Output out) throws IOException {
    ChannelExec exec = mina.session().createExecChannel(command);
    exec.setOut(out);
    exec.setErr(out);
    exec.open().verify(Timeouts.COMMAND);
    return exec;
  }
}
