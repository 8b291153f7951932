package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code ssh -A}: a real ssh-agent on this host, reached from inside the sandbox. */
@Tag("e2e")
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class AgentForwardingTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;
  static Process agent;
  static Path agentSocket;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
    agentSocket = dir.resolve("agent.sock");
    agent =
        new ProcessBuilder(OpenSsh.binary("ssh-agent"), "-D", "-a", agentSocket.toString())
            .redirectErrorStream(true)
            .start();
    Instant deadline = Instant.now().plus(Timeouts.COMMAND);
    while (!Files.exists(agentSocket) && Instant.now().isBefore(deadline)) {
      Thread.sleep(20);
    }
    Path key = gateway.newKey("forwarded-key");
    ProcessBuilder add = new ProcessBuilder(OpenSsh.binary("ssh-add"), key.toString());
    add.environment().put("SSH_AUTH_SOCK", agentSocket.toString());
    Process p = add.redirectErrorStream(true).start();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes())).isZero();
  }

  @AfterAll
  static void stop() {
    if (agent != null) {
      agent.destroy();
    }
    gateway.close();
  }

  @Test
  void sshAddInsideListsTheClientsKeyAndTheSocketGoesWithTheSession() throws Exception {
    // OpenSSH 9.2 forwards only an agent named by SSH_AUTH_SOCK (ForwardAgent=PATH alone and
    // IdentityAgent=none both leave it off), so this client gets the variable and -A.
    List<String> argv =
        ssh.sshCommand(
            GatewayFixture.SANDBOX,
            "ssh-add -l; echo SOCK=$SSH_AUTH_SOCK; stat -c %a \"$SSH_AUTH_SOCK\"",
            "-A");
    argv.replaceAll(a -> a.equals("IdentityAgent=none") ? "IdentityAgent=SSH_AUTH_SOCK" : a);
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("SSH_AUTH_SOCK", agentSocket.toString());
    Process p = pb.start();
    p.getOutputStream().close();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    OpenSsh.Result r =
        new OpenSsh.Result(
            p.exitValue(),
            p.getInputStream().readAllBytes(),
            new String(p.getErrorStream().readAllBytes()));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).contains("forwarded-key (ED25519)");
    String sock =
        r.stdout()
            .lines()
            .filter(l -> l.startsWith("SOCK="))
            .findFirst()
            .orElseThrow()
            .substring(5);
    assertThat(sock).isNotEmpty();
    assertThat(r.stdout()).contains("\n600\n");

    // The socket disappears with the session; the agent removes it asynchronously.
    Instant deadline = Instant.now().plus(Timeouts.EVENTUALLY);
    String state = "";
    while (Instant.now().isBefore(deadline)) {
      state =
          ssh.ssh(GatewayFixture.SANDBOX, "test -e '" + sock + "' && echo present || echo gone")
              .stdout();
      if (state.equals("gone\n")) {
        break;
      }
      Thread.sleep(200);
    }
    assertThat(state).isEqualTo("gone\n");
  }

  @Test
  void withoutDashAThereIsNoAgentSocket() {
    OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "echo ${SSH_AUTH_SOCK:-none}");
    assertThat(r.stdout()).isEqualTo("none\n");
  }

  @Test
  void x11RequestIsRefusedAndTheCommandStillRuns() throws Exception {
    List<String> argv =
        ssh.sshCommand(GatewayFixture.SANDBOX, "echo ran; echo ${DISPLAY:-nodisplay}", "-X");
    argv.replaceAll(a -> a.equals("LogLevel=ERROR") ? "LogLevel=INFO" : a);
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().put("DISPLAY", ":0");
    Process p = pb.start();
    p.getOutputStream().close();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes());
    String err = new String(p.getErrorStream().readAllBytes());
    assertThat(out).isEqualTo("ran\nnodisplay\n");
    assertThat(err).contains("X11 forwarding request failed");
  }
}
