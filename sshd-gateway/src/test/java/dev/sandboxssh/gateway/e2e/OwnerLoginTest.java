package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ssh OWNER@gateway}: the owner's sandboxes, and on a terminal a menu into one of them. */
@Tag("e2e")
class OwnerLoginTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    gateway.addSandbox("quiet", GatewayFixture.OWNER);
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void withoutATerminalTheOwnerGetsTheList() throws Exception {
    try (SshTerminal session = SshTerminal.open(ssh, GatewayFixture.SANDBOX + "+listed-work")) {
      session.type("echo up-$((1+1))\n").await("up-2");

      OpenSsh.Result list = ssh.ssh(GatewayFixture.OWNER, null);

      assertThat(list.exitCode()).as(list.stderr()).isZero();
      assertThat(list.stdout().lines().toList())
          .satisfiesExactly(
              l -> assertThat(l).isEqualTo("Sandboxes of alice:"),
              l -> assertThat(l).matches("# +SANDBOX +PROVIDER +STATE +SESSIONS"),
              l -> assertThat(l).matches("1 +demo +local +running +1 \\(listed-work\\)"),
              l -> assertThat(l).matches("2 +quiet +local +stopped +-"));
      assertThat(gateway.app().localProvider().launchedPid("quiet"))
          .as("listing does not start a sandbox")
          .isEmpty();
      session.type("exit\n");
      assertThat(session.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  @Test
  void onATerminalTheOwnerPicksASandboxAndLandsInItsShell() throws Exception {
    try (SshTerminal menu = SshTerminal.open(ssh, GatewayFixture.OWNER)) {
      menu.await("Open a shell in which sandbox?");
      menu.type("nowhere\r").await("No sandbox nowhere here.");
      menu.type("1\r").await("Sandbox demo:");
      menu.type("echo in-$HOSTNAME-$((6*7))\n").await("-42");
      menu.type("exit\n");
      assertThat(menu.awaitExit(Timeouts.COMMAND)).isZero();
      assertThat(menu.output()).containsPattern("in-\\S*-42");
    }
  }

  @Test
  void quittingTheMenuEndsTheSession() throws Exception {
    try (SshTerminal menu = SshTerminal.open(ssh, GatewayFixture.OWNER)) {
      menu.await("Open a shell in which sandbox?");
      menu.type("q\r");
      assertThat(menu.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  @Test
  void anOwnersLoginReachesNoSandboxsFiles() throws Exception {
    OpenSsh.Result sftp = new FileClients(ssh, dir).sftpBatch(GatewayFixture.OWNER, "ls");
    assertThat(sftp.exitCode()).isNotZero();
  }
}
