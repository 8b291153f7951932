package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.sshd.client.channel.ChannelExec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code env} requests and {@code SetEnv}: allowed names arrive, the rest are ignored; sshd's
 * {@code SSH_CLIENT} and {@code SSH_CONNECTION} are set.
 */
@Tag("e2e")
class EnvTest {
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
  void allowedNamesArriveOthersAreIgnored() {
    // OpenSSH 9 keeps only the first SetEnv option it sees, so all names go in one.
    OpenSsh.Result r =
        gateway
            .ssh()
            .ssh(
                GatewayFixture.SANDBOX,
                "echo \"LANG=$LANG\"; echo \"GIT_PROTOCOL=$GIT_PROTOCOL\"; echo \"LC_FOO=$LC_FOO\";"
                    + " echo \"EVIL=${EVIL-unset}\"; echo \"LD_PRELOAD=${LD_PRELOAD-unset}\"",
                "-o",
                "SetEnv=LANG=fr_FR.UTF-8 GIT_PROTOCOL=version=2 LC_FOO=bar EVIL=1 LD_PRELOAD=/x");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout())
        .isEqualTo(
            "LANG=fr_FR.UTF-8\nGIT_PROTOCOL=version=2\nLC_FOO=bar\nEVIL=unset\nLD_PRELOAD=unset\n");
  }

  @Test
  void theConnectionIsDescribedAsSshdDescribesIt() {
    OpenSsh.Result r =
        gateway.ssh().ssh(GatewayFixture.SANDBOX, "echo \"$SSH_CLIENT|$SSH_CONNECTION\"");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    // Client address and port, then the server port (SSH_CLIENT) or address and port
    // (SSH_CONNECTION).
    Matcher m =
        Pattern.compile(
                "127\\.0\\.0\\.1 (\\d+) (\\d+)\\|127\\.0\\.0\\.1 (\\d+) 127\\.0\\.0\\.1 (\\d+)\n")
            .matcher(r.stdout());
    assertThat(m.matches()).as(r.stdout()).isTrue();
    assertThat(m.group(1)).isEqualTo(m.group(3)).isNotEqualTo(Integer.toString(gateway.port()));
    assertThat(m.group(2)).isEqualTo(m.group(4)).isEqualTo(Integer.toString(gateway.port()));
  }

  @Test
  void valueOverTheLimitIsRefusedAndTheSessionGoesOn() throws IOException {
    int limit = gateway.config().limits().maxEnvValueBytes();
    try (MinaClient mina = MinaClient.connect(gateway)) {
      ChannelExec exec =
          mina.session()
              .createExecChannel("echo \"big=${#LC_BIG} edge=${#LC_EDGE} small=$LC_SMALL\"");
      exec.setEnv("LC_BIG", "x".repeat(limit + 1));
      exec.setEnv("LC_EDGE", "y".repeat(limit));
      exec.setEnv("LC_SMALL", "ok");
      assertThat(runToEnd(exec)).isEqualTo("big=0 edge=" + limit + " small=ok\n");
      assertThat(exec.getExitStatus()).isZero();

      // The same connection still runs commands.
      assertThat(runToEnd(mina.session().createExecChannel("echo next"))).isEqualTo("next\n");
    }
  }

  /**
   * A 1 MiB value cannot travel in one SSH packet: like OpenSSH's sshd, MINA's transport refuses
   * packets over 256 KiB and drops that connection. It must end that connection only.
   */
  @Test
  void oneMebibyteValueEndsOnlyItsOwnConnection() throws IOException {
    try (MinaClient bystander = MinaClient.connect(gateway);
        MinaClient mina = MinaClient.connect(gateway)) {
      ChannelExec exec = mina.session().createExecChannel("echo \"big=${#LC_BIG}\"");
      exec.setEnv("LC_BIG", "x".repeat(1024 * 1024));
      MinaClient.Output out = new MinaClient.Output();
      exec.setOut(out);
      try {
        exec.open().verify(Timeouts.COMMAND);
      } catch (IOException e) {
        // The connection may already be gone when the open is answered.
      }
      Eventually.until(
          "the connection that sent 1 MiB is closed", Timeouts.COMMAND, mina.session()::isClosed);
      assertThat(out.text()).isEmpty();

      assertThat(runToEnd(bystander.session().createExecChannel("echo bystander")))
          .isEqualTo("bystander\n");
    }
    OpenSsh.Result r = gateway.ssh().ssh(GatewayFixture.SANDBOX, "echo new-login");
    assertThat(r.stdout()).as(r.stderr()).isEqualTo("new-login\n");
  }

  private static String runToEnd(ChannelExec exec) throws IOException {
    MinaClient.Output out = new MinaClient.Output();
    exec.setOut(out);
    exec.setErr(out);
    exec.open().verify(Timeouts.COMMAND);
    MinaClient.awaitClosed(exec, Timeouts.COMMAND);
    return out.text();
  }
}
