package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.gateway.e2e.Eventually;
import dev.sandboxssh.gateway.e2e.Timeouts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.io.IoAcceptor;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.helpers.AbstractSession;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.AcceptAllPublickeyAuthenticator;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real MINA client, or a raw socket, against the gateway's transport. */
class EventLoopTransportTest {
  private static final int LOOPS = 2;

  private final List<String> shellThreads = new CopyOnWriteArrayList<>();
  private final List<byte[]> shellInput = new CopyOnWriteArrayList<>();
  private SshServer sshd;
  private SshClient client;

  @BeforeEach
  void start() throws Exception {
    sshd = GatewayServer.defaultSshServer();
    sshd.setIoServiceFactoryFactory(new EventLoopTransport(LOOPS));
    sshd.setHost("127.0.0.1");
    sshd.setPort(0);
    sshd.setKeyPairProvider(KeyPairProvider.wrap(ed25519()));
    sshd.setPublickeyAuthenticator(AcceptAllPublickeyAuthenticator.INSTANCE);
    sshd.setShellFactory(channel -> new RecordingShell());
    sshd.start();
    client = SshClient.setUpDefaultClient();
    client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
    client.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.stop();
    sshd.stop(true);
  }

  @Test
  void handlersRunOnTheConnectionsLoopAndConnectionsTakeTheLoopsInTurn() throws Exception {
    try (ClientSession first = login();
        ClientSession second = login()) {
      openShell(first);
      openShell(second);
      Eventually.until("both shells start", Timeouts.EVENTUALLY, () -> shellThreads.size() == 2);

      assertThat(shellThreads).hasSize(2).allMatch(name -> name.startsWith("ssh-io-"));
      assertThat(shellThreads.get(0)).isNotEqualTo(shellThreads.get(1));
      List<EventLoop> loops = new ArrayList<>();
      for (AbstractSession session : serverSessions()) {
        loops.add(((EventLoopSession) session.getIoSession()).loop());
      }
      assertThat(loops).doesNotHaveDuplicates();
    }
  }

  @Test
  void aWriteTheSocketTakesCompletesOnTheWritingThread() throws Exception {
    try (ClientSession session = login()) {
      openShell(session);
      AbstractSession server = serverSessions().get(0);
      AtomicReference<Thread> completedOn = new AtomicReference<>();

      Buffer ignore = server.createBuffer(SshConstants.SSH_MSG_IGNORE);
      ignore.putString("keep going");
      IoWriteFuture written = server.writePacket(ignore);
      written.addListener(future -> completedOn.set(Thread.currentThread()));

      // No loop or worker is woken to finish a write the socket took whole.
      assertThat(written.isWritten()).isTrue();
      assertThat(completedOn.get()).isSameAs(Thread.currentThread());
    }
  }

  @Test
  void aSuspendedConnectionIsNotReadUntilResumed() throws Exception {
    try (ClientSession session = login()) {
      ChannelShell shell = openShell(session);
      IoSession server = serverSessions().get(0).getIoSession();

      server.suspendRead();
      OutputStream stdin = shell.getInvertedIn();
      stdin.write("held".getBytes(StandardCharsets.US_ASCII));
      stdin.flush();
      Thread.sleep(300);
      assertThat(shellInput).isEmpty();

      server.resumeRead();
      Eventually.until("the held input arrives", Timeouts.EVENTUALLY, () -> !shellInput.isEmpty());
      assertThat(new String(shellInput.get(0), StandardCharsets.US_ASCII)).isEqualTo("held");
    }
  }

  @Test
  void writesAPeerCannotTakeWaitForItAndAGracefulCloseSendsThemAll() throws Exception {
    try (Socket raw = rawClient()) {
      IoSession server = serverSide();

      // Far more than both ends' socket buffers hold while nothing reads.
      byte[] chunk = new byte[256 * 1024];
      int chunks = 64;
      List<IoWriteFuture> writes = new ArrayList<>();
      for (int i = 0; i < chunks; i++) {
        writes.add(server.writeBuffer(new ByteArrayBuffer(chunk)));
      }
      IoWriteFuture last = writes.get(chunks - 1);
      assertThat(last.isDone()).isFalse();
      AtomicReference<String> lastCompletedOn = new AtomicReference<>();
      last.addListener(future -> lastCompletedOn.set(Thread.currentThread().getName()));
      server.close(false);

      long received = raw.getInputStream().transferTo(OutputStream.nullOutputStream());

      assertThat(last.isWritten()).isTrue();
      assertThat(lastCompletedOn.get()).startsWith("ssh-io-");
      // The identification line and the first key-exchange packet, every byte written, then EOF.
      assertThat(received).isGreaterThanOrEqualTo((long) chunk.length * chunks);
      assertThat(received).isLessThan((long) chunk.length * chunks + 4096);
    }
  }

  @Test
  void queuedWritesGoOutInOrderAndAShutdownOfOutputAfterThem() throws Exception {
    try (Socket raw = rawClient()) {
      IoSession server = serverSide();

      // Each chunk is one byte value, so a chunk sent out of turn shows in the stream.
      int chunks = 32;
      int size = 256 * 1024;
      for (int i = 0; i < chunks; i++) {
        byte[] chunk = new byte[size];
        Arrays.fill(chunk, (byte) i);
        server.writeBuffer(new ByteArrayBuffer(chunk));
      }
      server.shutdownOutputStream();

      byte[] received = raw.getInputStream().readAllBytes();

      // The identification line and the first key-exchange packet, then the chunks, then EOF.
      int prefix = received.length - chunks * size;
      assertThat(prefix).isBetween(0, 4096);
      for (int i = 0; i < chunks; i++) {
        assertThat(received[prefix + i * size]).isEqualTo((byte) i);
        assertThat(received[prefix + (i + 1) * size - 1]).isEqualTo((byte) i);
      }
      // Only the output was shut down: the connection is still open.
      assertThat(server.isOpen()).isTrue();
    }
  }

  @Test
  void aWriteToAPeerThatIsGoneFailsItsFutureAndClosesTheConnection() throws Exception {
    IoSession server;
    try (Socket raw = rawClient()) {
      server = serverSide();
      // Not reading, the loop cannot see the reset first: the write has to.
      server.suspendRead();
      raw.setSoLinger(true, 0);
    }

    IoWriteFuture write = server.writeBuffer(new ByteArrayBuffer(new byte[1024]));
    write.await(Timeouts.COMMAND);

    assertThat(write.getException()).isInstanceOf(IOException.class);
    assertThat(write.isWritten()).isFalse();
    Eventually.until("the connection closes", Timeouts.EVENTUALLY, server::isClosed);
  }

  @Test
  void unbindingRefusesTheNextClientAtOnce() throws Exception {
    int port = sshd.getPort();
    try (ClientSession open = login()) {
      ((IoAcceptor) serverSessions().get(0).getIoSession().getService()).unbind();

      assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
          .isInstanceOf(ConnectException.class);
      // The connections already made go on.
      assertThat(open.isOpen()).isTrue();
      openShell(open);
    }
  }

  @Test
  void theTransportMakesNoOutgoingConnections() {
    assertThatThrownBy(
            () -> new EventLoopTransport(1).create(sshd).createConnector(sshd.getSessionFactory()))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> new EventLoopTransport(0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private ClientSession login() throws Exception {
    ClientSession session =
        client
            .connect("me", new InetSocketAddress("127.0.0.1", sshd.getPort()))
            .verify(Timeouts.COMMAND)
            .getSession();
    session.addPublicKeyIdentity(ed25519());
    session.auth().verify(Timeouts.COMMAND);
    return session;
  }

  private static ChannelShell openShell(ClientSession session) throws IOException {
    ChannelShell shell = session.createShellChannel();
    shell.open().verify(Timeouts.COMMAND);
    return shell;
  }

  // A TCP client that sends nothing and reads only when told, with a small receive buffer, so
  // that the server's writes back up quickly.
  private Socket rawClient() throws IOException {
    Socket raw = new Socket();
    raw.setReceiveBufferSize(64 * 1024);
    raw.connect(new InetSocketAddress("127.0.0.1", sshd.getPort()));
    return raw;
  }

  // The server's side of the only connection, once the server has accepted it.
  private IoSession serverSide() {
    Eventually.until(
        "the server sees the connection",
        Timeouts.EVENTUALLY,
        () -> !sshd.getActiveSessions().isEmpty());
    return serverSessions().get(0).getIoSession();
  }

  private List<AbstractSession> serverSessions() {
    return sshd.getActiveSessions().stream().map(AbstractSession.class::cast).toList();
  }

  private static KeyPair ed25519() throws Exception {
    KeyPairGenerator generator = SecurityUtils.getKeyPairGenerator(SecurityUtils.EDDSA);
    generator.initialize(256);
    return generator.generateKeyPair();
  }

  /** A shell that notes the thread it starts on and hands on each read of its input. */
  private final class RecordingShell implements Command {
    private InputStream in;

    @Override
    public void setInputStream(InputStream in) {
      this.in = in;
    }

    @Override
    public void setOutputStream(OutputStream out) {}

    @Override
    public void setErrorStream(OutputStream err) {}

    @Override
    public void setExitCallback(ExitCallback callback) {}

    @Override
    public void start(ChannelSession channel, Environment env) {
      shellThreads.add(Thread.currentThread().getName());
      Thread reader =
          new Thread(
              () -> {
                byte[] buffer = new byte[1024];
                try {
                  for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    shellInput.add(Arrays.copyOf(buffer, n));
                  }
                } catch (IOException e) {
                  // The channel closed.
                }
              });
      reader.setDaemon(true);
      reader.start();
    }

    @Override
    public void destroy(ChannelSession channel) {}
  }
}
