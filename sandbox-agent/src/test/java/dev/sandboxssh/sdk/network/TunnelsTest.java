package dev.sandboxssh.sdk.network;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.IncomingConnection;
import dev.sandboxssh.sdk.Network;
import dev.sandboxssh.sdk.SandboxUnavailableException;
import dev.sandboxssh.sdk.Tunnel;
import dev.sandboxssh.sdk.TunnelListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tunnels through a real agent to servers on the machine's loopback, standing for the sandbox. */
class TunnelsTest {
  /** How long any single step of these tests may take. */
  static final Duration STEP = Duration.ofSeconds(20);

  private static final int ECHO_BYTES = 64 * 1024 * 1024;

  @TempDir Path tmp;
  private RootedAgentFixture agent;
  private Network network;

  @BeforeEach
  void start() throws Exception {
    agent = RootedAgentFixture.rooted(tmp);
    network = agent.sandbox().network();
  }

  @AfterEach
  void stop() {
    agent.close();
  }

  @Test
  void echoes64MebibytesWithEqualSha256AndHalfCloses() throws Exception {
    try (EchoServer echo = new EchoServer()) {
      RecordingHandler received = new RecordingHandler();
      Tunnel tunnel = network.dial("127.0.0.1", echo.port(), received);
      assertThat(tunnel.remoteAddress())
          .isEqualTo(new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.port()));

      MessageDigest sent = MessageDigest.getInstance("SHA-256");
      Random random = new Random(7);
      byte[] block = new byte[100_003];
      for (long left = ECHO_BYTES; left > 0; ) {
        int n = (int) Math.min(block.length, left);
        random.nextBytes(block);
        tunnel.write(block, 0, n);
        sent.update(block, 0, n);
        left -= n;
      }
      // The echo server sees eof only through the half-close, and only then closes its side.
      tunnel.shutdownOutput();

      assertThat(received.eof.await(STEP.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(received.closed.get(STEP.toSeconds(), TimeUnit.SECONDS)).isNull();
      assertThat(received.count()).isEqualTo(ECHO_BYTES);
      assertThat(received.sha256()).isEqualTo(sent.digest());
    }
  }

  @Test
  void dataFromThePeerStillArrivesAfterOurHalfClose() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<String> request = new CompletableFuture<>();
      Thread peer =
          new Thread(
              () -> {
                try (Socket s = server.accept()) {
                  request.complete(new String(s.getInputStream().readAllBytes(), UTF_8));
                  s.getOutputStream().write("response".getBytes(UTF_8));
                } catch (IOException e) {
                  request.completeExceptionally(e);
                }
              });
      peer.start();
      RecordingHandler received = new RecordingHandler();
      Tunnel tunnel = network.dial("localhost", server.getLocalPort(), received);

      tunnel.write("request".getBytes(UTF_8));
      tunnel.shutdownOutput();

      assertThat(request.get(STEP.toSeconds(), TimeUnit.SECONDS)).isEqualTo("request");
      assertThat(received.closed.get(STEP.toSeconds(), TimeUnit.SECONDS)).isNull();
      assertThat(received.head()).isEqualTo("response");
      assertThatThrownBy(() -> tunnel.write(new byte[1])).isInstanceOf(IOException.class);
    }
  }

  @Test
  void closingATunnelClosesTheSocketInsideAfterFlushing() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      RecordingHandler received = new RecordingHandler();
      Tunnel tunnel = network.dial("127.0.0.1", server.getLocalPort(), received);
      try (Socket inside = server.accept()) {
        tunnel.write("last words".getBytes(UTF_8));
        tunnel.close();

        assertThat(inside.getInputStream().readAllBytes()).asString(UTF_8).isEqualTo("last words");
        assertThat(received.closed.get(STEP.toSeconds(), TimeUnit.SECONDS)).isNull();
      }
    }
  }

  @Test
  void dialToAClosedPortIsConnectionRefused() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }

    assertThatThrownBy(() -> network.dial("127.0.0.1", closedPort, new RecordingHandler()))
        .isInstanceOf(ConnectException.class)
        .hasMessageContaining("refused");
  }

  @Test
  void dialToAnUnknownHostIsUnknownHost() {
    assertThatThrownBy(() -> network.dial("no-such-host.invalid", 80, new RecordingHandler()))
        .isInstanceOf(java.net.UnknownHostException.class);
  }

  @Test
  void dialsAUnixSocketInsideTheSandbox() throws Exception {
    Path socketPath = agent.sandboxDir().resolve("app.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socketPath));
      RecordingHandler received = new RecordingHandler();
      Tunnel tunnel = network.dialUnix("app.sock", received);
      try (SocketChannel inside = server.accept()) {
        tunnel.write("ping".getBytes(UTF_8));
        ByteBuffer buffer = ByteBuffer.allocate(4);
        while (buffer.hasRemaining()) {
          inside.read(buffer);
        }
        assertThat(new String(buffer.array(), UTF_8)).isEqualTo("ping");
        inside.write(ByteBuffer.wrap("pong".getBytes(UTF_8)));
        inside.shutdownOutput();
        assertThat(received.eof.await(STEP.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(received.head()).isEqualTo("pong");
      }
      tunnel.close();
    }
  }

  @Test
  void unixSocketsOutsideTheRootCannotBeDialledOrBound() throws Exception {
    Path outsideSocket = agent.outsideDir().resolve("host.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(outsideSocket));

      assertThatThrownBy(() -> network.dialUnix(outsideSocket.toString(), new RecordingHandler()))
          .isInstanceOf(AccessDeniedException.class);
      assertThatThrownBy(() -> network.dialUnix("../outside/host.sock", new RecordingHandler()))
          .isInstanceOf(AccessDeniedException.class);
      assertThatThrownBy(() -> network.listenUnix("../outside/new.sock", 0, c -> {}))
          .isInstanceOf(AccessDeniedException.class);
    }
  }

  @Test
  void listenOnPortZeroReportsAPortThatAcceptsAndEchoes() throws Exception {
    BlockingQueue<IncomingConnection> incoming = new LinkedBlockingQueue<>();
    try (TunnelListener listener = network.listen("127.0.0.1", 0, incoming::add)) {
      assertThat(listener.port()).isPositive();

      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.port())) {
        IncomingConnection connection = incoming.poll(STEP.toSeconds(), TimeUnit.SECONDS);
        assertThat(connection).isNotNull();
        assertThat(((InetSocketAddress) connection.remoteAddress()).getPort())
            .isEqualTo(client.getLocalPort());
        // The handler echoes what the connection sends, as `ssh -R` to an echo service would.
        CompletableFuture<Tunnel> self = new CompletableFuture<>();
        Tunnel tunnel =
            connection.accept(
                new dev.sandboxssh.sdk.TunnelHandler() {
                  @Override
                  public void onData(byte[] data) {
                    try {
                      self.join().write(data);
                    } catch (IOException e) {
                      throw new IllegalStateException(e);
                    }
                  }

                  @Override
                  public void onEof() {
                    self.join().shutdownOutput();
                  }
                });
        self.complete(tunnel);

        OutputStream out = client.getOutputStream();
        InputStream in = client.getInputStream();
        out.write("hello through -R".getBytes(UTF_8));
        client.shutdownOutput();
        assertThat(in.readAllBytes()).asString(UTF_8).isEqualTo("hello through -R");
      }
    }
  }

  @Test
  void listenOnATakenPortIsBindException() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThatThrownBy(() -> network.listen("127.0.0.1", taken.getLocalPort(), c -> {}))
          .isInstanceOf(BindException.class)
          .hasMessageContaining("in use");
    }
  }

  @Test
  void closingAListenerClosesThePortAndRemovesTheSocketFile() throws Exception {
    CompletableFuture<Throwable> closed = new CompletableFuture<>();
    TunnelListener listener =
        network.listen(
            "127.0.0.1",
            0,
            new dev.sandboxssh.sdk.AcceptHandler() {
              @Override
              public void onAccept(IncomingConnection connection) {
                connection.reject();
              }

              @Override
              public void onClosed(Throwable error) {
                closed.complete(error);
              }
            });
    int port = listener.port();
    TunnelListener unix = network.listenUnix("listen.sock", 0600, c -> {});
    Path socketFile = agent.sandboxDir().resolve("listen.sock");
    assertThat(socketFile).exists();
    assertThat(java.nio.file.Files.getPosixFilePermissions(socketFile))
        .containsExactlyInAnyOrderElementsOf(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

    listener.close();
    unix.close();

    assertThat(closed.get(STEP.toSeconds(), TimeUnit.SECONDS)).isNull();
    assertEventually(() -> !java.nio.file.Files.exists(socketFile));
    assertEventually(
        () -> {
          try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return false;
          } catch (ConnectException refused) {
            return true;
          }
        });
  }

  @Test
  void aGoneAgentEndsTunnelsAndListenersWithSandboxUnavailable() throws Exception {
    try (EchoServer echo = new EchoServer()) {
      RecordingHandler received = new RecordingHandler();
      network.dial("127.0.0.1", echo.port(), received);
      CompletableFuture<Throwable> listenerClosed = new CompletableFuture<>();
      network.listen(
          "127.0.0.1",
          0,
          new dev.sandboxssh.sdk.AcceptHandler() {
            @Override
            public void onAccept(IncomingConnection connection) {}

            @Override
            public void onClosed(Throwable error) {
              listenerClosed.complete(error);
            }
          });

      agent.stopAgent();

      assertThat(received.closed.get(STEP.toSeconds(), TimeUnit.SECONDS))
          .isInstanceOf(SandboxUnavailableException.class);
      assertThat(listenerClosed.get(STEP.toSeconds(), TimeUnit.SECONDS))
          .isInstanceOf(SandboxUnavailableException.class);
      assertThatThrownBy(() -> network.dial("127.0.0.1", echo.port(), new RecordingHandler()))
          .isInstanceOf(SandboxUnavailableException.class);
    }
  }

  /** Polls a condition that becomes true asynchronously, up to {@link #STEP}. */
  interface Check {
    boolean holds() throws Exception;
  }

  static void assertEventually(Check check) throws Exception {
    long deadline = System.nanoTime() + STEP.toNanos();
    while (!check.holds()) {
      assertThat(System.nanoTime()).as("condition within " + STEP).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
