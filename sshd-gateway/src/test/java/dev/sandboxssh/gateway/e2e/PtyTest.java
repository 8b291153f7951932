package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.bridge.ProcessBridge;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.common.channel.PtyMode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pty-req}, {@code window-change}, TERM and terminal modes. */
@Tag("e2e")
class PtyTest {
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
  void clientWithoutTerminalGetsDefaultSizeAndItsTerm() {
    OpenSsh ssh = gateway.ssh();
    OpenSsh.Result r =
        OpenSsh.run(
            ssh.sshCommand(GatewayFixture.SANDBOX, "stty size; echo $TERM", "-tt"),
            new byte[0],
            Timeouts.COMMAND,
            Map.of("TERM", "vt220"));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    // ssh -tt on a pipe cannot read its own size and sends 0x0: "unspecified".
    assertThat(r.stdout()).isEqualTo("24 80\r\nvt220\r\n");
  }

  @Test
  void sshTtyNamesTheTerminalAsUnderSshd() {
    OpenSsh ssh = gateway.ssh();
    OpenSsh.Result r =
        ssh.ssh(
            GatewayFixture.SANDBOX,
            "[ \"$SSH_TTY\" = \"$(tty)\" ] && echo \"same $SSH_TTY\"",
            "-tt");
    assertThat(r.exitCode()).as(r.stderr() + r.stdout()).isZero();
    assertThat(r.stdout()).startsWith("same /dev/pts/");
    // Without a terminal there is none to name.
    assertThat(ssh.ssh(GatewayFixture.SANDBOX, "echo \"[${SSH_TTY-unset}]\"").stdout())
        .isEqualTo("[unset]\n");
  }

  @Test
  void sizeOfPtyReqThenWindowChangeAtOnce() throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    ChannelShell shell = openShell(100, 30, Map.of(), out);
    try {
      type(shell, "echo \"S=$(stty size)\"\n");
      assertThat(await(out, "S")).isEqualTo("30 100");

      shell.sendWindowChange(132, 43);
      // The very next command sees the new size: no waiting for it to settle.
      type(shell, "echo \"R=$(stty size)\"\n");
      assertThat(await(out, "R")).isEqualTo("43 132");

      // Again, right after one another: each resize lands before the keystrokes that follow it.
      for (int i = 1; i <= 10; i++) {
        shell.sendWindowChange(100 + i, 20 + i);
        type(shell, "echo \"R" + i + "=$(stty size)\"\n");
        assertThat(await(out, "R" + i)).isEqualTo((20 + i) + " " + (100 + i));
      }
    } finally {
      shell.close(true);
    }
  }

  @Test
  void aShellIdleForLongerThanTheIdleParkAnswersTheNextKeystrokes() throws Exception {
    MinaClient.Output out = new MinaClient.Output();
    ChannelShell shell = openShell(80, 24, Map.of(), out);
    try {
      type(shell, "echo \"F=$((1+2))\"\n");
      out.await("F=3", Timeouts.COMMAND);
      // The terminal's reader parks its descriptor and gives up its thread while nothing comes.
      Thread.sleep(ProcessBridge.IDLE_PARK.plusSeconds(1).toMillis());
      type(shell, "echo \"A=$((5+6))\"\n");
      out.await("A=11", Timeouts.COMMAND);
    } finally {
      shell.close(true);
    }
  }

  @Test
  void zeroSizeGetsTheDefault() throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    ChannelShell shell = openShell(0, 0, Map.of(), out);
    try {
      type(shell, "echo \"S=$(stty size)\"; echo \"W=$((6*7))\"\n");
      assertThat(await(out, "S")).isEqualTo("24 80");
      out.await("W=42", Timeouts.COMMAND);
    } finally {
      shell.close(true);
    }
  }

  @Test
  void hugeSizeIsClampedToTheConfiguredLimit() throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    ChannelShell shell = openShell(100_000, 100_000, Map.of(), out);
    try {
      type(shell, "echo \"S=$(stty size)\"; echo \"W=$((6*7))\"\n");
      int rows = gateway.config().limits().maxPtyRows();
      int cols = gateway.config().limits().maxPtyCols();
      assertThat(await(out, "S")).isEqualTo(rows + " " + cols);
      out.await("W=42", Timeouts.COMMAND);

      shell.sendWindowChange(100_000, 100_000);
      type(shell, "echo \"R=$(stty size)\"\n");
      assertThat(await(out, "R")).isEqualTo(rows + " " + cols);
    } finally {
      shell.close(true);
    }
    // The gateway is still there for the next session.
    OpenSsh.Result r = gateway.ssh().ssh(GatewayFixture.SANDBOX, "echo still-up");
    assertThat(r.stdout()).isEqualTo("still-up\n");
  }

  @Test
  void eraseCharacterFromPtyModes() throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    ChannelShell shell = openShell(80, 24, Map.of(PtyMode.VERASE, 8), out);
    try {
      type(shell, "stty -a | tr ';' '\\n' | grep -o 'erase = [^ ]*' | sed 's/^/M:/'\n");
      out.await("M:erase = ^H", Timeouts.COMMAND);
    } finally {
      shell.close(true);
    }
  }

  private static ChannelShell openShell(
      int cols, int rows, Map<PtyMode, Integer> modes, MinaClient.Output out) throws IOException {
    ChannelShell shell = mina.session().createShellChannel();
    shell.setPtyType("xterm");
    shell.setPtyColumns(cols);
    shell.setPtyLines(rows);
    if (!modes.isEmpty()) {
      shell.setPtyModes(modes);
    }
    shell.setOut(out);
    shell.setErr(out);
    shell.open().verify(Timeouts.COMMAND);
    return shell;
  }

  static void type(ChannelShell shell, String keys) throws IOException {
    OutputStream in = shell.getInvertedIn();
    in.write(keys.getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  /** Waits for a line {@code NAME=ROWS COLS} and returns "ROWS COLS". */
  private static String await(MinaClient.Output out, String name) {
    Pattern line = Pattern.compile(name + "=(\\d+ \\d+)");
    Eventually.until(
        out::text, Timeouts.COMMAND, () -> line.matcher(out.text()).find(), name + "=ROWS COLS");
    Matcher m = line.matcher(out.text());
    m.find();
    return m.group(1);
  }
}
