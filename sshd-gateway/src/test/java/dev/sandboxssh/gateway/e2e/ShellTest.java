package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.sshd.client.channel.ChannelShell;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code shell} request, with and without a PTY. */
@Tag("e2e")
class ShellTest {
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
  void scriptOnStdinRunsInAShellWithoutPty() {
    String script =
        """
        if [ -t 0 ] || [ -t 1 ]; then echo tty; else echo no-tty; fi
        x=$((6*7))
        echo "answer $x"
        for i in 1 2 3; do
          echo "loop $i"
        done
        exit 5
        echo not-reached
        """;
    OpenSsh.Result r =
        gateway
            .ssh()
            .ssh(
                GatewayFixture.SANDBOX,
                null,
                script.getBytes(StandardCharsets.UTF_8),
                Timeouts.COMMAND,
                "-T");
    assertThat(r.stdout()).isEqualTo("no-tty\nanswer 42\nloop 1\nloop 2\nloop 3\n");
    assertThat(r.exitCode()).as(r.stderr()).isEqualTo(5);
  }

  @Test
  void interactiveShellWithPty() throws IOException {
    try (MinaClient mina = MinaClient.connect(gateway)) {
      MinaClient.Output out = new MinaClient.Output();
      ChannelShell shell = mina.session().createShellChannel();
      shell.setPtyType("xterm");
      shell.setOut(out);
      shell.setErr(out);
      shell.open().verify(Timeouts.COMMAND);

      PtyTest.type(shell, "echo hi-$((1+1))\n");
      // The echoed keystrokes say hi-$((1+1)); only the shell's answer says hi-2.
      out.await("hi-2", Timeouts.COMMAND);

      PtyTest.type(shell, "exit 3\n");
      MinaClient.awaitExit(shell, Timeouts.COMMAND);
      assertThat(shell.getExitStatus()).as(out.text()).isEqualTo(3);
      MinaClient.awaitClosed(shell, Timeouts.COMMAND);
    }
  }
}
