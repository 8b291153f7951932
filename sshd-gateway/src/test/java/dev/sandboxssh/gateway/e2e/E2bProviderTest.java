package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code e2b} provider: ssh, scp and sftp reach a sandbox through nothing but its envd API,
 * here the envd face of an agent the test starts ({@code --envd-listen}), over HTTP on loopback.
 */
@Tag("e2e")
class E2bProviderTest {
  private static final String BOX = "envdbox";
  private static final String TOKEN = "envd-access-token";

  @TempDir static Path dir;
  static StandaloneAgent agent;
  static GatewayFixture gateway;
  static OpenSsh ssh;
  static FileClients clients;
  static Path home;

  @BeforeAll
  static void start() throws Exception {
    agent = StandaloneAgent.startWithEnvd(dir.resolve("agent"), TOKEN);
    home = dir.resolve("agent/home");
    gateway = GatewayFixture.start(dir.resolve("gateway"));
    gateway.addE2bSandbox(BOX, GatewayFixture.OWNER, agent.envdUrl(), TOKEN);
    ssh = gateway.ssh();
    clients = new FileClients(ssh, Files.createDirectories(dir.resolve("client")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (agent != null) {
      agent.close();
    }
  }

  @Test
  void execKeepsStdoutStderrAndExitStatusApart() {
    OpenSsh.Result r = ssh.ssh(BOX, "echo out; echo err >&2; pwd; exit 3");
    assertThat(r.exitCode()).as(r.stderr()).isEqualTo(3);
    assertThat(r.stdout()).isEqualTo("out\n" + home + "\n");
    assertThat(r.stderr()).contains("err");
  }

  @Test
  void stdinReachesTheCommandAndItsEnd() {
    OpenSsh.Result r =
        OpenSsh.run(
            ssh.sshCommand(BOX, "wc -c"),
            "twelve bytes".getBytes(StandardCharsets.UTF_8),
            Timeouts.COMMAND);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout().strip()).isEqualTo("12");
  }

  @Test
  void aTerminalSessionGetsAPty() {
    OpenSsh.Result r = ssh.ssh(BOX, "tty; echo $TERM; exit 4", "-tt");
    assertThat(r.exitCode()).as(r.stderr()).isEqualTo(4);
    assertThat(r.stdout()).startsWith("/dev/pts/");
  }

  @Test
  void theCommandGetsHangupWhenTheClientGoesAway() throws Exception {
    Path hup = home.resolve("hup.txt");
    Process client =
        OpenSsh.start(
            ssh.sshCommand(
                BOX,
                "trap \"echo hup > ~/hup.tmp; mv ~/hup.tmp ~/hup.txt; exit 1\" HUP;"
                    + " echo ready; while :; do sleep 0.1; done"));
    try {
      assertThat(OpenSsh.firstLine(client)).isEqualTo("ready");
      client.destroy();
      Eventually.until(
          "hup.txt written by the HUP trap", Timeouts.EVENTUALLY, () -> Files.exists(hup));
    } finally {
      client.destroyForcibly();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"sftp", "legacy"})
  void scpCopiesBothWaysWithEqualHashes(String mode) throws Exception {
    Path local = FileClients.randomFile(dir.resolve("big-" + mode), 6L << 20, 11);
    List<String> flags = mode.equals("legacy") ? List.of("-O") : List.of();
    OpenSsh.Result up = clients.scp(flags, local.toString(), BOX + "@127.0.0.1:big-" + mode);
    assertThat(up.exitCode()).as(FileClients.describe(up)).isZero();
    assertThat(FileClients.sha256(home.resolve("big-" + mode)))
        .isEqualTo(FileClients.sha256(local));
    Path back = dir.resolve("back-" + mode);
    OpenSsh.Result down = clients.scp(flags, BOX + "@127.0.0.1:big-" + mode, back.toString());
    assertThat(down.exitCode()).as(FileClients.describe(down)).isZero();
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(local));
  }

  @Test
  void sftpManagesFilesAsOnAnyHost() throws Exception {
    Path local = FileClients.randomFile(dir.resolve("put.bin"), 300_000, 5);
    Path got = dir.resolve("got.bin");
    OpenSsh.Result r =
        clients.sftpBatch(
            BOX,
            "mkdir work",
            "put " + local + " work/a.bin",
            "rename work/a.bin work/b.bin",
            "chmod 600 work/b.bin",
            "symlink b.bin work/link",
            "get work/link " + got,
            "ls -l work",
            "-rmdir work",
            "mkdir gone",
            "rmdir gone",
            "-get work/missing " + dir.resolve("missing"));
    assertThat(r.exitCode()).as(FileClients.describe(r)).isZero();
    assertThat(FileClients.sha256(got)).isEqualTo(FileClients.sha256(local));
    Path b = home.resolve("work/b.bin");
    assertThat(FileClients.sha256(b)).isEqualTo(FileClients.sha256(local));
    assertThat(home.resolve("work/a.bin")).doesNotExist();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(b)))
        .isEqualTo("rw-------");
    assertThat(Files.readSymbolicLink(home.resolve("work/link"))).isEqualTo(Path.of("b.bin"));
    assertThat(home.resolve("gone")).doesNotExist();
    assertThat(r.stdout()).contains("b.bin").contains("link");
    // The refused rmdir of a non-empty directory and the missing file, as sftp reports them.
    assertThat(r.stderr()).contains("remote rmdir").contains("work/missing\" not found");
  }

  @Test
  void rsyncCopiesATreeIn() throws Exception {
    Path src = Files.createDirectories(dir.resolve("rs-src/deep"));
    FileClients.randomFile(src.resolve("data.bin"), 1 << 20, 13);
    OpenSsh.Result up =
        OpenSsh.run(
            List.of(
                OpenSsh.binary("rsync"),
                "-a",
                "-e",
                clients.rsyncShell(),
                dir.resolve("rs-src") + "/",
                BOX + "@127.0.0.1:rs"),
            new byte[0],
            Timeouts.TRANSFER);
    assertThat(up.exitCode()).as(FileClients.describe(up)).isZero();
    assertThat(FileClients.sha256(home.resolve("rs/deep/data.bin")))
        .isEqualTo(FileClients.sha256(src.resolve("data.bin")));
  }

  @Test
  void aNamedSessionSurvivesAKilledClient() throws Exception {
    try (SshTerminal first = SshTerminal.open(ssh, BOX + "+work")) {
      first.type("export KEPT=value-$((6*7)); echo set-$((1+1))\n").await("set-2");
      first.kill();
    }
    try (SshTerminal again = SshTerminal.open(ssh, BOX + "+work")) {
      again.type("echo \"kept:$KEPT\"\n").await("kept:value-42");
      again.type("exit\n");
      assertThat(again.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  @Test
  void forwardsAreRefusedOneByOneAndTheConnectionGoesOn() throws Exception {
    int local = SshForward.freePort();
    try (SshForward fwd =
        SshForward.startAs(ssh, BOX, "-L", local + ":127.0.0.1:9", "-R", "0:127.0.0.1:9")
            .awaitLocalPort(local)) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), local)) {
        s.setSoTimeout((int) Timeouts.COMMAND.toMillis());
        assertThat(s.getInputStream().read()).as("the refused connection is closed").isEqualTo(-1);
      }
      // The reason code is the provider's "denied", and the text its reason.
      assertThat(fwd.awaitStderr("open failed: administratively prohibited: ([^\\r\\n]*)"))
          .isNotBlank()
          .doesNotContain("Generic error");
      assertThat(fwd.awaitStderr("(remote port forwarding failed)")).isNotEmpty();
      assertThat(fwd.isAlive()).isTrue();
    }
  }

  @Test
  void anUnreachableEnvdEndsTheLoginWithOneLine() throws Exception {
    int closed = SshForward.freePort();
    gateway.addE2bSandbox("nowhere", GatewayFixture.OWNER, "http://127.0.0.1:" + closed, TOKEN);
    OpenSsh.Result r = ssh.ssh("nowhere", "true");
    assertThat(r.exitCode()).isEqualTo(255);
    assertThat(r.stderr().strip())
        .isEqualTo(
            "sandbox nowhere is not running: cannot reach envd at http://127.0.0.1:"
                + closed
                + "/: connection refused");
  }

  @Test
  void aWrongTokenIsRefusedWithAClearLineAndHurtsNoOtherSandbox() {
    gateway.addE2bSandbox("wrongtoken", GatewayFixture.OWNER, agent.envdUrl(), "not-the-token");
    OpenSsh.Result r = ssh.ssh("wrongtoken", "true");
    assertThat(r.exitCode()).isEqualTo(255);
    assertThat(r.stderr()).contains("wrongtoken").contains("refused");
    assertThat(ssh.ssh(BOX, "true").exitCode()).isZero();
  }
}
