package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.AgentServer;
import dev.sandboxssh.agent.ListenAddress;
import dev.sandboxssh.gateway.routing.ProcessStdio;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.CommandResult;
import dev.sandboxssh.sdk.OpenFile;
import dev.sandboxssh.sdk.OpenOptions;
import dev.sandboxssh.sdk.Sandbox;
import dev.sandboxssh.sdk.Tunnel;
import dev.sandboxssh.sdk.TunnelHandler;
import dev.sandboxssh.sdk.TunnelListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Taking a process's stdio from a real agent on a unix socket, and using it. */
class UnixDescriptorSocketTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path tmp;
  AgentServer server;
  Sandbox sandbox;
  UnixDescriptorSocket descriptors;
  final ExecutorService readers = Executors.newCachedThreadPool();

  Path home;

  @BeforeEach
  void startAgent() throws IOException {
    home = Files.createDirectories(tmp.resolve("sandbox")).toRealPath();
    Path socket = tmp.resolve("agent.sock");
    server = AgentServer.listen(new ListenAddress.Unix(socket), new AgentConfig("t", home, home));
    sandbox = Sandbox.connect("unix:" + socket, "t");
    sandbox.awaitReady(WAIT);
    descriptors = new UnixDescriptorSocket(socket.resolveSibling("fds.sock"));
  }

  @AfterEach
  void stopAgent() {
    readers.shutdownNow();
    sandbox.close();
    server.close();
  }

  private CommandHandle start(String command, boolean terminal) {
    CommandOptions options = CommandOptions.create().handOff(true).shell("/bin/sh");
    if (terminal) {
      options.pty(80, 24, "xterm", java.util.Map.of());
    }
    return sandbox.commands().run(command, options);
  }

  private CompletableFuture<String> readAll(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          ByteArrayOutputStream all = new ByteArrayOutputStream();
          byte[] buffer = new byte[8192];
          try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
              all.write(buffer, 0, n);
            }
          } catch (IOException e) {
            all.writeBytes(("<" + e.getMessage() + ">").getBytes(StandardCharsets.UTF_8));
          }
          return all.toString(StandardCharsets.UTF_8);
        },
        readers);
  }

  @Test
  void pipesCarryTheProcessBytesWithoutTheAgent() throws Exception {
    CommandHandle handle = start("tr a-z A-Z; echo done >&2; exit 3", false);
    assertThat(handle.handOff()).matches("[0-9a-f]{32}");
    try (ProcessStdio stdio = descriptors.take(handle.handOff(), false)) {
      CompletableFuture<String> out = readAll(stdio.stdout());
      CompletableFuture<String> err = readAll(stdio.stderr());
      byte[] big = "abc\n".repeat(200_000).getBytes(StandardCharsets.US_ASCII);
      stdio.stdin().write(big);
      stdio.stdin().close();
      assertThat(out.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("ABC\n".repeat(200_000));
      assertThat(err.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("done\n");
    }
    CommandResult result = handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(result.exitCode()).isEqualTo(3);
    // The agent carried none of it.
    assertThat(result.stdout()).isEmpty();
    assertThat(result.stderr()).isEmpty();
  }

  @Test
  void aTerminalIsOneMasterDescriptor() throws Exception {
    CommandHandle handle = start("stty -echo; echo ready; read line; echo got $line", true);
    try (ProcessStdio stdio = descriptors.take(handle.handOff(), true)) {
      assertThat(stdio.stderr()).isNull();
      StringBuilder seen = new StringBuilder();
      byte[] buffer = new byte[1024];
      while (!seen.toString().contains("ready")) {
        int n = stdio.stdout().read(buffer);
        assertThat(n).as("output so far: %s", seen).isPositive();
        seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
      stdio.stdin().write("xyz\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readAll(stdio.stdout()).get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .contains("got xyz");
    }
    assertThat(handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS).exitCode()).isZero();
  }

  @Test
  void aNameIsGoodOnce() throws Exception {
    CommandHandle handle = start("cat", false);
    try (ProcessStdio stdio = descriptors.take(handle.handOff(), false)) {
      assertThatThrownBy(() -> descriptors.take(handle.handOff(), false))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("unknown or expired");
      stdio.stdin().close();
      assertThat(readAll(stdio.stdout()).get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
    }
    assertThat(handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS).exitCode()).isZero();
  }

  @Test
  void anUnknownNameGetsNothing() {
    assertThatThrownBy(() -> descriptors.take("0".repeat(32), false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("unknown or expired");
  }

  @Test
  void aLinkInPlaceOfTheSocketIsRefused() throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("link.sock"), tmp.resolve("fds.sock"));
    CommandHandle handle = start("cat", false);
    assertThatThrownBy(() -> new UnixDescriptorSocket(link).take(handle.handOff(), false))
        .isInstanceOf(IOException.class);
    // The name was never presented, so its owner can still take it.
    try (ProcessStdio stdio = descriptors.take(handle.handOff(), false)) {
      stdio.stdin().close();
    }
    assertThat(handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS).exitCode()).isZero();
  }

  @Test
  void closeEndsABlockedRead() throws Exception {
    // A background job holds the pipe open after its parent exited: the gateway must not wait.
    CommandHandle handle = start("sleep 60 & echo started", false);
    ProcessStdio stdio = descriptors.take(handle.handOff(), false);
    byte[] buffer = new byte[64];
    int n = stdio.stdout().read(buffer);
    assertThat(new String(buffer, 0, n, StandardCharsets.UTF_8)).isEqualTo("started\n");
    CompletableFuture<String> rest = readAll(stdio.stdout());
    assertThat(handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS).exitCode()).isZero();
    assertThat(rest).isNotDone();
    stdio.close();
    assertThat(rest.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
    assertThatThrownBy(() -> stdio.stdin().write(1)).isInstanceOf(IOException.class);
  }

  @Test
  void anAgentOnTcpDeclinesAndTheOutputFlowsAsBefore() throws Exception {
    Path home = Files.createDirectories(tmp.resolve("tcp-home")).toRealPath();
    try (AgentServer tcp =
            AgentServer.listen(
                new ListenAddress.Tcp("127.0.0.1", 0), new AgentConfig("u", home, home));
        Sandbox client = Sandbox.connect("127.0.0.1:" + tcp.port(), "u")) {
      client.awaitReady(WAIT);
      CommandHandle handle =
          client.commands().run("echo through the agent", CommandOptions.create().handOff(true));
      assertThat(handle.handOff()).isEmpty();
      assertThat(handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS).stdout())
          .isEqualTo("through the agent\n");
    }
  }

  /** Hashes what a tunnel lends it, and counts what the tunnel's reader allocates meanwhile. */
  private static final class LentDigest implements TunnelHandler {
    private static final com.sun.management.ThreadMXBean THREADS =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final MessageDigest sha = sha256();
    final CompletableFuture<Optional<Throwable>> closed = new CompletableFuture<>();
    private long firstAllocated = -1;
    private long lastAllocated;
    int chunks;

    private static MessageDigest sha256() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void onData(byte[] data) {
      closed.completeExceptionally(new AssertionError("a copied chunk where a lent one was due"));
    }

    @Override
    public synchronized void onLentData(byte[] buffer, int length) {
      long allocated = THREADS.getCurrentThreadAllocatedBytes();
      if (firstAllocated < 0) {
        firstAllocated = allocated;
      }
      lastAllocated = allocated;
      chunks++;
      sha.update(buffer, 0, length);
    }

    @Override
    public void onClose(Throwable error) {
      closed.complete(Optional.ofNullable(error));
    }

    synchronized byte[] digest() {
      return sha.digest();
    }

    synchronized long allocatedBetweenChunks() {
      return lastAllocated - firstAllocated;
    }
  }

  /** Collects what a tunnel delivers. */
  private static final class Collecting implements TunnelHandler {
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    final CompletableFuture<Void> eof = new CompletableFuture<>();
    final CompletableFuture<Optional<Throwable>> closed = new CompletableFuture<>();

    @Override
    public synchronized void onData(byte[] chunk) {
      data.writeBytes(chunk);
    }

    @Override
    public void onEof() {
      eof.complete(null);
    }

    @Override
    public void onClose(Throwable error) {
      closed.complete(Optional.ofNullable(error));
    }

    synchronized byte[] bytes() {
      return data.toByteArray();
    }
  }

  private static byte[] pattern(int size) {
    byte[] data = new byte[size];
    for (int i = 0; i < size; i++) {
      data[i] = (byte) (i * 7 + i / 251);
    }
    return data;
  }

  /** Echoes one connection back to its sender, then closes it. */
  private CompletableFuture<Void> echoOnce(ServerSocket server) {
    return CompletableFuture.runAsync(
        () -> {
          try (Socket s = server.accept()) {
            s.getInputStream().transferTo(s.getOutputStream());
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        readers);
  }

  @Test
  void aDialledSocketIsHandedOverAndRelayedByTheGateway() throws Exception {
    sandbox.network().handOffTo(descriptors::takeSocket);
    try (ServerSocket echo = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> served = echoOnce(echo);
      Collecting handler = new Collecting();
      Tunnel tunnel = sandbox.network().dial("127.0.0.1", echo.getLocalPort(), handler);
      assertThat(tunnel).isInstanceOf(SocketTunnel.class);
      assertThat(tunnel.remoteAddress())
          .isEqualTo(new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()));
      byte[] data = pattern(3 * 1024 * 1024 + 17);
      tunnel.write(data);
      tunnel.shutdownOutput();
      assertThat(handler.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
      assertThat(handler.eof).isDone();
      assertThat(handler.bytes()).isEqualTo(data);
      served.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  @Test
  void aHandedOverSocketLendsItsReadBufferRatherThanAllocateAnArrayPerChunk() throws Exception {
    sandbox.network().handOffTo(descriptors::takeSocket);
    try (ServerSocket echo = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> served = echoOnce(echo);
      LentDigest handler = new LentDigest();
      Tunnel tunnel = sandbox.network().dial("127.0.0.1", echo.getLocalPort(), handler);
      byte[] data = pattern(16 * 1024 * 1024);
      tunnel.write(data);
      tunnel.shutdownOutput();
      assertThat(handler.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
      served.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(handler.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
      assertThat(handler.chunks).isGreaterThan(1);
      // An array per chunk would be the size of the data; the reader's other allocations are
      // a few objects per system call.
      assertThat(handler.allocatedBetweenChunks()).isLessThan(data.length / 16);
    }
  }

  @Test
  void anAcceptedSocketIsHandedOverToo() throws Exception {
    sandbox.network().handOffTo(descriptors::takeSocket);
    Collecting handler = new Collecting();
    CompletableFuture<Tunnel> taken = new CompletableFuture<>();
    try (TunnelListener listener =
        sandbox
            .network()
            .listen(
                "127.0.0.1",
                0,
                connection -> {
                  try {
                    taken.complete(connection.accept(handler));
                  } catch (IOException e) {
                    taken.completeExceptionally(e);
                  }
                })) {
      try (Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.port())) {
        Tunnel tunnel = taken.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(tunnel).isInstanceOf(SocketTunnel.class);
        client.getOutputStream().write("from the peer".getBytes(StandardCharsets.US_ASCII));
        client.shutdownOutput();
        handler.eof.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(new String(handler.bytes(), StandardCharsets.US_ASCII))
            .isEqualTo("from the peer");
        tunnel.write("to the peer".getBytes(StandardCharsets.US_ASCII));
        tunnel.close();
        assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
            .isEqualTo("to the peer");
        assertThat(handler.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
      }
    }
  }

  @Test
  void closingATunnelEndsAWriteBlockedOnAPeerThatDoesNotRead() throws Exception {
    sandbox.network().handOffTo(descriptors::takeSocket);
    try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Socket> peer =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return silent.accept();
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              },
              readers);
      Collecting handler = new Collecting();
      Tunnel tunnel = sandbox.network().dial("127.0.0.1", silent.getLocalPort(), handler);
      try (Socket ignored = peer.get(WAIT.toSeconds(), TimeUnit.SECONDS)) {
        CompletableFuture<Void> writing =
            CompletableFuture.runAsync(
                () -> {
                  try {
                    tunnel.write(new byte[64 * 1024 * 1024]);
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                },
                readers);
        Thread.sleep(200);
        assertThat(writing).isNotDone();
        tunnel.close();
        assertThatThrownBy(() -> writing.get(WAIT.toSeconds(), TimeUnit.SECONDS))
            .hasCauseInstanceOf(UncheckedIOException.class);
        assertThat(handler.closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
      }
    }
  }

  @Test
  void anOpenFileIsReadAndWrittenHereWithTheModeTheAgentOpenedItWith() throws Exception {
    sandbox.files().handOffTo(descriptors::takeFile);
    try (OpenFile rw =
        sandbox
            .files()
            .open("f.bin", new OpenOptions(true, true, true, true, false, false, 0600))) {
      assertThat(rw).isInstanceOf(FdFile.class);
      rw.write(ByteBuffer.wrap("hello world".getBytes(StandardCharsets.US_ASCII)), 0);
      rw.write(ByteBuffer.wrap("W".getBytes(StandardCharsets.US_ASCII)), 6);
      ByteBuffer back = ByteBuffer.allocate(64);
      assertThat(rw.read(back, 0)).isEqualTo(11);
      assertThat(new String(back.array(), 0, 11, StandardCharsets.US_ASCII))
          .isEqualTo("hello World");
      assertThat(rw.read(ByteBuffer.allocate(4), 11)).isEqualTo(-1);
      rw.truncate(5);
      assertThat(rw.size()).isEqualTo(5);
    }
    assertThat(Files.readString(home.resolve("f.bin"))).isEqualTo("hello");
    assertThat(Files.getPosixFilePermissions(home.resolve("f.bin")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    // Exclusive creation of an existing file fails as the agent's own open would.
    assertThatThrownBy(
            () ->
                sandbox
                    .files()
                    .open("f.bin", new OpenOptions(false, true, true, true, false, false, 0)))
        .isInstanceOf(FileAlreadyExistsException.class);
    // Opened for reading, the descriptor refuses writes in the kernel, whoever holds it.
    try (OpenFile ro = sandbox.files().open("f.bin", OpenOptions.reading())) {
      assertThatThrownBy(() -> ro.write(ByteBuffer.wrap(new byte[] {1}), 0))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("errno 9");
    }
    assertThat(Files.readString(home.resolve("f.bin"))).isEqualTo("hello");
  }

  @Test
  void aHandedOffFileMovesBytesThroughEveryKindOfBuffer() throws Exception {
    sandbox.files().handOffTo(descriptors::takeFile);
    byte[] data = new byte[600 * 1024 + 7]; // more than two of the descriptor's 256 KiB calls
    new Random(9).nextBytes(data);
    try (OpenFile rw =
        sandbox
            .files()
            .open("k.bin", new OpenOptions(true, true, true, true, false, false, 0600))) {
      assertThat(rw).isInstanceOf(FdFile.class);
      // A heap buffer that is a slice in the middle of its array, a read-only one, a direct one.
      byte[] padded = new byte[data.length + 100];
      System.arraycopy(data, 0, padded, 50, 300_000);
      ByteBuffer slice = ByteBuffer.wrap(padded, 40, 300_010).slice().position(10);
      assertThat(rw.write(slice, 0)).isEqualTo(300_000);
      assertThat(slice.hasRemaining()).isFalse();
      ByteBuffer readOnly = ByteBuffer.wrap(data, 300_000, 100_000).asReadOnlyBuffer();
      assertThat(rw.write(readOnly, 300_000)).isEqualTo(100_000);
      ByteBuffer direct = ByteBuffer.allocateDirect(data.length - 400_000);
      direct.put(data, 400_000, data.length - 400_000).flip();
      assertThat(rw.write(direct, 400_000)).isEqualTo(data.length - 400_000);

      byte[] into = new byte[data.length + 20];
      ByteBuffer heapSlice = ByteBuffer.wrap(into, 10, data.length).slice();
      assertThat(rw.read(heapSlice, 0)).isEqualTo(data.length);
      assertThat(Arrays.copyOfRange(into, 10, 10 + data.length)).isEqualTo(data);
      // The bytes go from the staging buffer straight into the caller's array: nothing of their
      // size is allocated on the way (it had been a new array per call, as large as its bytes).
      com.sun.management.ThreadMXBean threads =
          (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      long before = threads.getCurrentThreadAllocatedBytes();
      assertThat(rw.read(heapSlice.clear(), 0)).isEqualTo(data.length);
      assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(data.length / 8);
      ByteBuffer directIn = ByteBuffer.allocateDirect(data.length);
      assertThat(rw.read(directIn, 0)).isEqualTo(data.length);
      byte[] fromDirect = new byte[data.length];
      directIn.flip().get(fromDirect);
      assertThat(fromDirect).isEqualTo(data);
    }
    assertThat(Files.readAllBytes(home.resolve("k.bin"))).isEqualTo(data);
  }

  @Test
  void anAgentOnTcpDeclinesToOpenFilesForTheCaller() throws Exception {
    Path other = Files.createDirectories(tmp.resolve("tcp-files")).toRealPath();
    Files.writeString(other.resolve("a.txt"), "a");
    try (AgentServer tcp =
            AgentServer.listen(
                new ListenAddress.Tcp("127.0.0.1", 0), new AgentConfig("u", other, other));
        Sandbox client = Sandbox.connect("127.0.0.1:" + tcp.port(), "u")) {
      client.awaitReady(WAIT);
      client.files().handOffTo(descriptors::takeFile);
      assertThat(client.files().open("a.txt", OpenOptions.reading())).isNull();
    }
  }

  @Test
  void withoutAHandOffTheOutputComesThroughTheAgent() throws Exception {
    CommandHandle handle =
        sandbox.commands().run("echo kept", CommandOptions.create().shell("/bin/sh"));
    assertThat(handle.handOff()).isEmpty();
    assertThat(handle.exit().get(WAIT.toSeconds(), TimeUnit.SECONDS).stdout()).isEqualTo("kept\n");
  }
}
