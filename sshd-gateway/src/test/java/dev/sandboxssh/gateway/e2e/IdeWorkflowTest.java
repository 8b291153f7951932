package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection patterns of VS Code Remote-SSH and JetBrains Gateway, reproduced with the OpenSSH
 * client: an install script on the stdin of {@code ssh -T ... bash} that starts a server on a
 * sandbox loopback port (or unix socket) and prints {@code listeningOn==PORT==}, then requests to
 * it through {@code -D}, {@code -L}, or a multiplexed master connection.
 */
@Tag("e2e")
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class IdeWorkflowTest {
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

  /** A running {@code ssh -T [options] demo@gw bash} fed an install-like script. */
  private record InstallSession(Process process, String listeningOn) implements AutoCloseable {
    static InstallSession start(String where, String... options) throws Exception {
      List<String> argv = new ArrayList<>(List.of("-T"));
      argv.addAll(List.of(options));
      Process p =
          OpenSsh.start(
              ssh.sshCommand(GatewayFixture.SANDBOX, "bash", argv.toArray(String[]::new)));
      OutputStream stdin = p.getOutputStream();
      // Like VS Code's script: set up the server, start it, report where it listens; stdin stays
      // open, as VS Code keeps it, so bash lives on.
      String script =
          "cd \"$HOME\"\n"
              + "echo installing\n"
              + "python3 - "
              + where
              + " <<'PYTHON_SERVER'\n"
              + EchoServerInSandbox.SCRIPT
              + "PYTHON_SERVER\n";
      stdin.write(script.getBytes(StandardCharsets.UTF_8));
      stdin.flush();
      BufferedReader out =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      CompletableFuture<String> found = new CompletableFuture<>();
      Thread reader =
          new Thread(
              () -> {
                try {
                  for (String line; (line = out.readLine()) != null; ) {
                    if (line.startsWith("listeningOn==")) {
                      found.complete(line.substring(13, line.length() - 2));
                    }
                  }
                  found.completeExceptionally(new AssertionError("bash ended before listening"));
                } catch (Exception e) {
                  found.completeExceptionally(e);
                }
              });
      reader.setDaemon(true);
      reader.start();
      return new InstallSession(p, found.get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS));
    }

    @Override
    public void close() {
      process.destroy();
    }
  }

  @Test
  void vsCodeDynamicForwarding() throws Exception {
    int socks = SshForward.freePort();
    try (InstallSession install = InstallSession.start("tcp", "-D", Integer.toString(socks));
        Socket s = Socks5.connect(socks, "127.0.0.1", Integer.parseInt(install.listeningOn()))) {
      EchoCheck.run(s.getInputStream(), s.getOutputStream(), s::shutdownOutput, 1 << 20);
    }
  }

  @Test
  void vsCodeLocalForwardingWithoutDynamicForwarding() throws Exception {
    try (InstallSession install = InstallSession.start("tcp")) {
      int local = SshForward.freePort();
      try (SshForward fwd =
          SshForward.start(ssh, "-L", local + ":127.0.0.1:" + install.listeningOn())
              .awaitLocalPort(local)) {
        EchoCheck.overTcp(local, 1 << 20);
      }
    }
  }

  @Test
  void vsCodeServerListeningOnUnixSocket() throws Exception {
    try (InstallSession install = InstallSession.start("/tmp/vscode-server-test.sock")) {
      assertThat(install.listeningOn()).isEqualTo("/tmp/vscode-server-test.sock");
      int local = SshForward.freePort();
      try (SshForward fwd =
          SshForward.start(ssh, "-L", local + ":" + install.listeningOn()).awaitLocalPort(local)) {
        EchoCheck.overTcp(local, 1 << 20);
      }
    }
  }

  @Test
  void jetBrainsLongLivedForwardWhileHundredExecSessionsComeAndGo() throws Exception {
    Path control = dir.resolve("ctl");
    int local = SshForward.freePort();
    try (EchoServerInSandbox echo = EchoServerInSandbox.tcp(ssh);
        SshForward master =
            SshForward.start(
                    ssh, "-M", "-S", control.toString(), "-L", local + ":127.0.0.1:" + echo.port())
                .awaitLocalPort(local);
        Socket held = new Socket(java.net.InetAddress.getLoopbackAddress(), local)) {
      held.setSoTimeout((int) Timeouts.COMMAND.toMillis());
      BufferedReader heldIn =
          new BufferedReader(new InputStreamReader(held.getInputStream(), StandardCharsets.UTF_8));
      for (int i = 0; i < 100; i++) {
        OpenSsh.Result r =
            ssh.ssh(GatewayFixture.SANDBOX, "echo exec-" + i, "-S", control.toString());
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("exec-" + i + "\n");
        if (i == 50) {
          uploadOverTheSameConnection(control);
        }
        if (i % 10 == 0) {
          held.getOutputStream().write(("ping " + i + "\n").getBytes(StandardCharsets.UTF_8));
          assertThat(heldIn.readLine()).isEqualTo("ping " + i);
        }
      }
      held.getOutputStream().write("last\n".getBytes(StandardCharsets.UTF_8));
      assertThat(heldIn.readLine()).isEqualTo("last");
      assertThat(master.isAlive()).isTrue();
    }
  }

  /** JetBrains' file sync: an SFTP upload of 50 MB through the master connection. */
  private static void uploadOverTheSameConnection(Path control) throws Exception {
    Path file = FileClients.randomFile(dir.resolve("upload.bin"), 50_000_000L, 7);
    FileClients files = new FileClients(ssh, dir);
    Path batch = dir.resolve("upload.batch");
    java.nio.file.Files.writeString(batch, "put " + file + " upload.bin\n");
    List<String> argv = files.sftpCommand(GatewayFixture.SANDBOX, batch);
    argv.addAll(1, List.of("-o", "ControlPath=" + control));
    OpenSsh.Result put = OpenSsh.run(argv, new byte[0], Timeouts.TRANSFER);
    assertThat(put.exitCode()).as(put.stderr()).isZero();
    OpenSsh.Result sum =
        ssh.ssh(GatewayFixture.SANDBOX, "sha256sum upload.bin", "-S", control.toString());
    assertThat(sum.stdout()).startsWith(FileClients.sha256(file) + " ");
  }
}
