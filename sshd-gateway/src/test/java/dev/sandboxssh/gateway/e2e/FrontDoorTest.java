package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ChannelSession;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.ConnectionService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The front door under hostile clients: channel floods, connection caps, connections that never
 * authenticate, too many unauthenticated connections, and sources that keep failing. Sources other
 * than 127.0.0.1 (which the fixture exempts from penalties) are other loopback addresses.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class FrontDoorTest {
  private static final Duration GRACE = Duration.ofSeconds(5);
  private static final int MAX_STARTUPS = 4;
  private static final int PER_SANDBOX = 3;
  private static final String CAPPED = "capped";

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway =
        GatewayFixture.start(
            dir,
            c -> {
              GatewayConfig.Limits l = c.limits();
              return c.withPreAuth(
                      new GatewayConfig.PreAuth(
                          GRACE,
                          new GatewayConfig.MaxStartups(MAX_STARTUPS, 100, MAX_STARTUPS),
                          c.preAuth().penalties()))
                  .withLimits(
                      new GatewayConfig.Limits(
                          l.maxPtyCols(),
                          l.maxPtyRows(),
                          l.maxEnvValueBytes(),
                          l.maxEnvVars(),
                          l.maxSessionsPerConnection(),
                          l.maxChannelsPerConnection(),
                          l.maxConnectionsPerOwner(),
                          PER_SANDBOX));
            });
    ssh = gateway.ssh();
    // Its own sandbox, so that connections of the other tests, closing as it starts, never count.
    gateway.addSandbox(CAPPED, GatewayFixture.OWNER);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void channelOpensPastTheLimitAreRefusedAndTheConnectionGoesOn() throws Exception {
    int limit = gateway.config().limits().maxSessionsPerConnection();
    try (MinaClient client = MinaClient.connect(gateway)) {
      List<ChannelSession> open = new ArrayList<>();
      int refused = 0;
      for (int i = 0; i < 500; i++) {
        // A bare session channel: opened, no request, so no process behind it.
        ChannelSession channel = new ChannelSession();
        client.session().getService(ConnectionService.class).registerChannel(channel);
        OpenFuture opened = channel.open();
        assertThat(opened.await(Timeouts.COMMAND)).isTrue();
        if (opened.isOpened()) {
          open.add(channel);
        } else {
          assertThat(opened.getException())
              .isInstanceOfSatisfying(
                  SshChannelOpenException.class,
                  e -> {
                    assertThat(e.getReasonCode())
                        .isEqualTo(SshConstants.SSH_OPEN_RESOURCE_SHORTAGE);
                    assertThat(e.getMessage())
                        .contains("too many open sessions (limit " + limit + ")");
                  });
          refused++;
        }
      }
      assertThat(open).hasSize(limit);
      assertThat(refused).isEqualTo(500 - limit);
      assertThat(client.session().isOpen()).isTrue();

      // One closed makes room for a command, which runs as usual.
      open.remove(0).close(false).await(Timeouts.COMMAND);
      ChannelExec exec = client.session().createExecChannel("echo still here");
      MinaClient.Output out = new MinaClient.Output();
      exec.setOut(out);
      exec.open().verify(Timeouts.COMMAND);
      MinaClient.awaitClosed(exec, Timeouts.COMMAND);
      assertThat(out.text()).isEqualTo("still here\n");
      assertThat(exec.getExitStatus()).isZero();
    }
  }

  @Test
  void aLoginPastTheSandboxCapEndsWithALineNamingIt() throws Exception {
    List<MinaClient> held = new ArrayList<>();
    try {
      for (int i = 0; i < PER_SANDBOX; i++) {
        held.add(MinaClient.connect(gateway, CAPPED, gateway.aliceKey()));
      }
      OpenSsh.Result refused = ssh.ssh(CAPPED, "true", "-o", "LogLevel=INFO");
      assertThat(refused.exitCode()).isEqualTo(255);
      assertThat(refused.stderr())
          .contains("too many connections to sandbox " + CAPPED + " (limit " + PER_SANDBOX + ")");
      // Other sandboxes of the same owner are not affected.
      assertThat(ssh.ssh(GatewayFixture.SANDBOX, "true").exitCode()).isZero();

      held.remove(0).close();
      Eventually.until(
          "a slot is free again",
          Timeouts.EVENTUALLY,
          () -> ssh.ssh(CAPPED, "true").exitCode() == 0);
    } finally {
      for (MinaClient c : held) {
        c.close();
      }
    }
  }

  @Test
  void aConnectionThatNeverAuthenticatesIsClosedAfterTheGraceTime() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
      long start = System.nanoTime();
      InputStream in = socket.getInputStream();
      assertThat(readLine(in)).startsWith("SSH-2.0-");
      socket.getOutputStream().write("SSH-2.0-silent\r\n".getBytes(StandardCharsets.US_ASCII));
      socket.setSoTimeout((int) GRACE.multipliedBy(6).toMillis());
      // The server's KEXINIT, then nothing more from this side: the gateway ends it.
      while (in.read(new byte[4096]) >= 0) {
        // drain
      }
      Duration open = Duration.ofNanos(System.nanoTime() - start);
      assertThat(open).isGreaterThanOrEqualTo(GRACE.minusMillis(200));
    }
  }

  @Test
  void unauthenticatedConnectionsPastMaxStartupsAreDroppedAtOnce() throws Exception {
    List<Socket> pending = new ArrayList<>();
    try {
      for (int i = 0; i < MAX_STARTUPS; i++) {
        Socket s = new Socket("127.0.0.1", gateway.port());
        pending.add(s);
        assertThat(readLine(s.getInputStream())).startsWith("SSH-2.0-");
      }
      try (Socket dropped = new Socket("127.0.0.1", gateway.port())) {
        dropped.setSoTimeout((int) Timeouts.COMMAND.toMillis());
        // Closed as accepted: not even the banner.
        assertThat(dropped.getInputStream().read()).isEqualTo(-1);
      }
    } finally {
      for (Socket s : pending) {
        s.close();
      }
    }
    Eventually.until(
        "logins work once the others are gone",
        Timeouts.EVENTUALLY,
        () -> ssh.ssh(GatewayFixture.SANDBOX, "true").exitCode() == 0);
  }

  @Test
  void aSourceFloodingWrongKeysIsRefusedWhileAnotherLogsInAtOnce() throws Exception {
    Path stranger = gateway.newKey("stranger");
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.server")) {
      // 5 s per failed connection, running out in real time; at 15 s owed the source is refused:
      // after the fourth failure, or a few more on a slow machine.
      int failures = 0;
      OpenSsh.Result r;
      while ((r = ssh.withIdentity(stranger).ssh(GatewayFixture.SANDBOX, "true", "-b", "127.0.0.3"))
          .stderr()
          .contains("Permission denied")) {
        assertThat(r.exitCode()).isEqualTo(255);
        assertThat(++failures).as("failed logins before the refusal").isLessThanOrEqualTo(8);
      }
      assertThat(failures).isGreaterThanOrEqualTo(3);
      assertThat(r.exitCode()).isEqualTo(255);
      // Closed as accepted: the client never read the gateway's identification.
      assertThat(r.stderr()).contains("kex_exchange_identification");
      assertThat(log.messages())
          .anyMatch(
              m ->
                  m.matches(
                      "source 127\\.0\\.0\\.3 refused for 1[5-9] s: repeated auth-failure.*"));

      // Even the right key is refused from there, before any authentication...
      OpenSsh.Result refused = ssh.ssh(GatewayFixture.SANDBOX, "echo in", "-b", "127.0.0.3");
      assertThat(refused.exitCode()).isEqualTo(255);
      assertThat(refused.stdout()).isEmpty();
      assertThat(refused.stderr()).doesNotContain("Permission denied");
      // ...while another source logs in at once.
      OpenSsh.Result other = ssh.ssh(GatewayFixture.SANDBOX, "echo in", "-b", "127.0.0.2");
      assertThat(other.exitCode()).as(other.stderr()).isZero();
      assertThat(other.stdout()).isEqualTo("in\n");
      // Logged once, not per refused connection.
      assertThat(log.count("refused for")).isEqualTo(1);
    }
  }

  /** The first line the server sends (its identification), read byte by byte. */
  private static String readLine(InputStream in) throws Exception {
    StringBuilder line = new StringBuilder();
    for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
      line.append((char) b);
    }
    return line.toString();
  }
}
