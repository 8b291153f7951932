package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ssh -L} and {@code ssh -R}, to TCP ports and unix sockets, relayed through the sandbox's
 * agent, with the OpenSSH client.
 *
 * <p>Under bubblewrap a local sandbox shares the host's network namespace, so a TCP listener the
 * gateway opens inside it is reachable from this test on 127.0.0.1; its /tmp is private, so a unix
 * socket there is reachable only through the sandbox.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class PortForwardingTest {
  private static final long BIG = 64L * 1024 * 1024;

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;
  static EchoServerInSandbox tcpEcho;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
    tcpEcho = EchoServerInSandbox.tcp(ssh);
  }

  @AfterAll
  static void stop() {
    if (tcpEcho != null) {
      tcpEcho.close();
    }
    gateway.close();
  }

  @Test
  void localForwardCarries64MiBBothWays() throws Exception {
    int local = SshForward.freePort();
    try (SshForward fwd =
        SshForward.start(ssh, "-L", local + ":127.0.0.1:" + tcpEcho.port()).awaitLocalPort(local)) {
      EchoCheck.overTcp(local, BIG);
    }
  }

  @Test
  void remoteForwardOnPortZeroPrintsAllocatedPortAndCarries64MiBBothWays() throws Exception {
    try (EchoServerOnHost echo = new EchoServerOnHost();
        SshForward fwd =
            SshForward.start(
                ssh, "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:" + echo.port())) {
      int allocated = Integer.parseInt(fwd.awaitStderr("Allocated port (\\d+) for remote forward"));
      assertThat(allocated).isPositive().isNotEqualTo(echo.port());
      // The listener is on the sandbox's own loopback: the client runs there.
      InSandbox.echo(ssh, GatewayFixture.SANDBOX, allocated, BIG);
    }
  }

  @Test
  void localForwardToUnixSocketInSandbox() throws Exception {
    try (EchoServerInSandbox unixEcho = EchoServerInSandbox.unix(ssh, "/tmp/fwd-echo.sock")) {
      int local = SshForward.freePort();
      try (SshForward fwd =
          SshForward.start(ssh, "-L", local + ":" + unixEcho.path()).awaitLocalPort(local)) {
        EchoCheck.overTcp(local, 4L * 1024 * 1024);
      }
    }
  }

  @Test
  void remoteForwardFromUnixSocketInSandbox() throws Exception {
    // The sandbox's home is this host's sandbox directory: the socket is visible from here.
    Path onHost = gateway.sandboxDir(GatewayFixture.SANDBOX).resolve("rfwd.sock");
    try (EchoServerOnHost echo = new EchoServerOnHost();
        SshForward fwd =
            SshForward.start(
                ssh,
                "-o",
                "ExitOnForwardFailure=yes",
                "-R",
                "/home/user/rfwd.sock:127.0.0.1:" + echo.port())) {
      awaitExists(onHost, fwd);
      EchoCheck.overUnix(onHost, 4L * 1024 * 1024);
    }
  }

  @Test
  void refusedTargetFailsToOpenAndTheConnectionGoesOn() throws Exception {
    int closedPort = SshForward.freePort(); // nothing listens there, in the sandbox or here
    int refusedLocal = SshForward.freePort();
    int goodLocal = SshForward.freePort();
    try (SshForward fwd =
        SshForward.start(
                ssh,
                "-L",
                refusedLocal + ":127.0.0.1:" + closedPort,
                "-L",
                goodLocal + ":127.0.0.1:" + tcpEcho.port())
            .awaitLocalPort(goodLocal)) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), refusedLocal)) {
        s.setSoTimeout((int) Timeouts.COMMAND.toMillis());
        InputStream in = s.getInputStream();
        assertThat(in.read()).as("the client closes the refused connection").isEqualTo(-1);
      }
      // The reason the sandbox gave, as sshd sends strerror ("Connection refused").
      assertThat(fwd.awaitStderr("open failed: connect failed: ([^\\r\\n]*)"))
          .isEqualTo("connection refused: 127.0.0.1:" + closedPort);
      EchoCheck.overTcp(goodLocal, 1024 * 1024);
      assertThat(fwd.isAlive()).isTrue();
    }
  }

  @Test
  void takenPortFailsRemoteForwardWithExitOnForwardFailure() throws Exception {
    try (SshForward fwd =
        SshForward.start(
            ssh, "-o", "ExitOnForwardFailure=yes", "-R", tcpEcho.port() + ":127.0.0.1:9")) {
      assertThat(fwd.awaitExit(Timeouts.COMMAND)).isEqualTo(255);
      assertThat(fwd.stderr())
          .contains("remote port forwarding failed for listen port " + tcpEcho.port());
    }
  }

  @Test
  void closingTheClientClosesItsListenersInTheSandbox() throws Exception {
    int allocated;
    try (EchoServerOnHost echo = new EchoServerOnHost();
        SshForward fwd = SshForward.start(ssh, "-R", "0:127.0.0.1:" + echo.port())) {
      allocated = Integer.parseInt(fwd.awaitStderr("Allocated port (\\d+) for remote forward"));
      InSandbox.echo(ssh, GatewayFixture.SANDBOX, allocated, 1024);
    }
    int port = allocated;
    Eventually.until(
        "port " + port + " inside the sandbox to refuse connections",
        Timeouts.EVENTUALLY,
        () ->
            InSandbox.connect(ssh, GatewayFixture.SANDBOX, "127.0.0.1", port)
                .equals("failed ConnectionRefusedError"));
  }

  private static void awaitExists(Path path, SshForward fwd) throws InterruptedException {
    Instant deadline = Instant.now().plus(Timeouts.COMMAND);
    while (!path.toFile().exists() && Instant.now().isBefore(deadline) && fwd.isAlive()) {
      Thread.sleep(50);
    }
    assertThat(path).as("socket; ssh said: %s", fwd.stderr()).exists();
  }
}
