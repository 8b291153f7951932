package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
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
  void interactiveShellWithPtyFromOpenSsh() throws Exception {
    // ssh -tt asks for a PTY although its own stdin is a pipe; the keystrokes go through as typed.
    Process ssh = OpenSsh.start(gateway.ssh().sshCommand(GatewayFixture.SANDBOX, null, "-tt"));
    try {
      MinaClient.Output out = new MinaClient.Output();
      MinaClient.Output err = new MinaClient.Output();
      CompletableFuture<Void> copied =
          CompletableFuture.allOf(
              CompletableFuture.runAsync(
                  () -> copy(ssh.getInputStream(), out), BlockingTasks.THREADS),
              CompletableFuture.runAsync(
                  () -> copy(ssh.getErrorStream(), err), BlockingTasks.THREADS));
      Supplier<String> state = () -> "stdout: " + out.text() + "; stderr: " + err.text();
      OutputStream keys = ssh.getOutputStream();

      // The echoed keystrokes hold the unexpanded $((...)); only the shell's answers expand them.
      type(keys, "[ -t 0 ] && [ -t 1 ]; echo \"tty=$?=$((6*7))\"\n");
      type(keys, "case $- in *i*) i=yes;; *) i=no;; esac; echo \"interactive=$i=$((1+1))\"\n");
      type(keys, "echo \"done=$((2+3))\"\n");
      Eventually.until(
          state,
          Timeouts.COMMAND,
          () -> out.text().contains("done=5") || !ssh.isAlive(),
          "the shell's answers");
      assertThat(out.text()).as(state.get()).contains("tty=0=42", "interactive=yes=2", "done=5");
      type(keys, "exit 3\n");

      assertThat(ssh.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS))
          .as("ssh ended; %s", state.get())
          .isTrue();
      copied.get(10, TimeUnit.SECONDS);
      assertThat(ssh.exitValue()).as(state.get()).isEqualTo(3);
      assertThat(err.text()).isEmpty();
    } finally {
      ssh.destroyForcibly();
    }
  }

  private static void type(OutputStream keys, String text) throws IOException {
    keys.write(text.getBytes(StandardCharsets.UTF_8));
    keys.flush();
  }

  private static void copy(InputStream from, OutputStream to) {
    try (from) {
      from.transferTo(to);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
