package dev.sandboxssh.gateway.bridge.files;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.gateway.InProcessGateway;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.testing.AllocationBudget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.sshd.client.channel.ChannelSubsystem;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.util.buffer.BufferException;
import org.apache.sshd.sftp.common.SftpConstants;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * SFTP as the gateway serves it (MINA's SFTP server, {@link SandboxSftpSubsystem}, the NIO provider
 * over the agent's filesystem API, the agent confined with {@code --root}), fed arbitrary packets
 * by a real client over a real channel of the gateway's server in this JVM, against a sandbox
 * directory that is reset to the same contents before every input.
 *
 * <p>Properties: every request gets its reply, unless a packet shorter than its fields ended the
 * SFTP session (MINA's {@link BufferException}, as OpenSSH's sftp-server exits on a packet it
 * cannot parse); nothing else may end it (an exception out of the subsystem), and nothing may make
 * it stop answering. Nothing outside the sandbox changes, and no reply carries the content of the
 * secret file beside it (unless the input itself spelled it). The SSH connection survives every
 * input. Bounded allocation across all threads.
 *
 * <p>An input: one byte choosing the protocol version (3 to 6) the client asks for, then at most
 * {@value #MAX_PACKETS} packets, each a type byte, a big-endian 16-bit length and that many bytes
 * of payload (what follows the request id, which the harness assigns); SSH_FXP_INIT is sent by the
 * harness only. In a payload, an SSH string {@code $0}..{@code $9} becomes the handle of that
 * number the server returned so far, and one starting with {@code %S} or {@code %O} has that
 * replaced by the sandbox's or the outside directory's absolute path. Seeds ({@code
 * SandboxSftpSubsystemFuzzTestInputs/packets/}): reads, writes, listings, every extension offered
 * and escape attempts through {@code ..}, absolute paths and symlinks.
 */
class SandboxSftpSubsystemFuzzTest {
  static final int MAX_PACKETS = 16;

  private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

  private static final AllocationBudget budget = AllocationBudget.allThreads(64 << 20);

  private static final InProcessGateway gateway;
  private static final Path base;
  private static final Map<String, String> outsideBefore;
  private static final ExceptionLog subsystemErrors = new ExceptionLog();
  private static final byte[] BIG = new byte[100 * 1024];

  static {
    try {
      gateway = InProcessGateway.start(GatewayConfig.defaults());
      base = gateway.sandboxDir().getParent();
      Files.createDirectories(gateway.outsideDir().resolve("secret-dir"));
      Files.writeString(
          gateway.outsideDir().resolve("secret-dir/inner.txt"), InProcessGateway.SECRET);
      new Random(42).nextBytes(BIG);
      outsideBefore = snapshotOutside();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
    // Where MINA's SFTP server logs what ended a session: SftpSubsystem.run's catch-all.
    Logger logger = (Logger) LoggerFactory.getLogger(SandboxSftpSubsystem.class);
    subsystemErrors.start();
    logger.addAppender(subsystemErrors);
    Runtime.getRuntime().addShutdownHook(new Thread(SandboxSftpSubsystemFuzzTest::stop));
  }

  private static void stop() {
    try {
      gateway.close();
    } catch (Exception e) {
      // the JVM is ending
    }
  }

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom). A request left
  // unanswered fails sooner, with its own message.
  @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void packets(byte[] input) throws Exception {
    budget.run("an SFTP session of " + input.length + " bytes", () -> session(input));
  }

  private static void session(byte[] input) throws Exception {
    resetSandbox();
    subsystemErrors.clear();
    Replies replies = new Replies();
    ClientSession ssh = gateway.session();
    ChannelSubsystem channel = ssh.createSubsystemChannel("sftp");
    channel.setOut(replies);
    channel.setErr(OutputStream.nullOutputStream());
    channel.open().verify(REPLY_TIMEOUT);
    try {
      ByteBuffer in = ByteBuffer.wrap(input);
      int version = in.hasRemaining() ? 3 + (in.get() & 3) : 3;
      send(channel, SftpConstants.SSH_FXP_INIT, version, new byte[0]);
      assertThat(replies.next(channel, "SSH_FXP_INIT").type())
          .isEqualTo(SftpConstants.SSH_FXP_VERSION);
      List<byte[]> handles = new ArrayList<>();
      boolean versionSelectRefused = false;
      for (int id = 1; id <= MAX_PACKETS && in.remaining() >= 3; id++) {
        int type = in.get() & 0xff;
        byte[] payload = new byte[Math.min(in.getShort() & 0xffff, in.remaining())];
        in.get(payload);
        if (type == SftpConstants.SSH_FXP_INIT) {
          continue;
        }
        if (versionSelectRefused) {
          // The extension says the server must close the channel. A client may send more before
          // the close arrives; none of it is answered (checked below the loop).
          try {
            send(channel, type, id, substitute(payload, handles));
          } catch (IOException closed) {
            break;
          }
          continue;
        }
        send(channel, type, id, substitute(payload, handles));
        Reply reply = replies.next(channel, "request " + id + " (type " + type + ")");
        if (reply == null) {
          // The session ended: only a packet MINA cannot decode may end it otherwise: one shorter
          // than its fields (BufferException) or with a count that cannot fit in it
          // (IndexOutOfBoundsException "Illogical ... count").
          assertThat(subsystemErrors.ended())
              .as("what ended the SFTP session at request %d (type %d)", id, type)
              .matches(
                  e ->
                      e != null
                          && (e.startsWith(BufferException.class.getSimpleName() + ": ")
                              || e.startsWith("IndexOutOfBoundsException: Illogical ")));
          break;
        }
        assertThat(reply.id()).as("reply to request %d (type %d)", id, type).isEqualTo(id);
        if (reply.type() == SftpConstants.SSH_FXP_HANDLE) {
          handles.add(reply.string());
        }
        versionSelectRefused =
            type == SftpConstants.SSH_FXP_EXTENDED
                && startsWithString(payload, SftpConstants.EXT_VERSION_SELECT)
                && reply.type() == SftpConstants.SSH_FXP_STATUS
                && ByteBuffer.wrap(reply.body()).getInt() != SftpConstants.SSH_FX_OK;
      }
      if (versionSelectRefused) {
        assertThat(replies.next(channel, "the close after a refused version-select"))
            .as("a reply after a refused version-select")
            .isNull();
      }
    } catch (Throwable failure) {
      channel.close(true);
      throw failure;
    }
    // However the session ended, the client's channel closes: the server sends its CLOSE.
    assertThat(channel.close(false).await(REPLY_TIMEOUT)).as("the channel closed").isTrue();
    assertThat(ssh.isOpen()).as("the SSH connection").isTrue();
    if (!contains(input, InProcessGateway.SECRET.getBytes(StandardCharsets.UTF_8))) {
      assertThat(contains(replies.all(), InProcessGateway.SECRET.getBytes(StandardCharsets.UTF_8)))
          .as("a reply carries the secret beside the sandbox")
          .isFalse();
    }
    assertThat(snapshotOutside()).as("everything outside the sandbox").isEqualTo(outsideBefore);
  }

  private static void send(ChannelSubsystem channel, int type, int id, byte[] payload)
      throws IOException {
    ByteBuffer packet = ByteBuffer.allocate(4 + 1 + 4 + payload.length);
    packet.putInt(1 + 4 + payload.length).put((byte) type).putInt(id).put(payload);
    OutputStream out = channel.getInvertedIn();
    out.write(packet.array());
    out.flush();
  }

  /**
   * Replaces the SSH strings {@code $N}, {@code %S...} and {@code %O...} (see the class comment).
   */
  static byte[] substitute(byte[] payload, List<byte[]> handles) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < payload.length) {
      byte[] replaced = i + 6 <= payload.length ? replacement(payload, i, handles) : null;
      if (replaced == null) {
        out.write(payload[i++]);
        continue;
      }
      int n = ByteBuffer.wrap(payload, i, 4).getInt();
      out.writeBytes(ByteBuffer.allocate(4).putInt(replaced.length).array());
      out.writeBytes(replaced);
      i += 4 + n;
    }
    return out.toByteArray();
  }

  private static byte[] replacement(byte[] payload, int at, List<byte[]> handles) {
    int n = ByteBuffer.wrap(payload, at, 4).getInt();
    if (n < 2 || n > payload.length - at - 4) {
      return null;
    }
    byte kind = payload[at + 4];
    byte next = payload[at + 5];
    if (kind == '$' && n == 2 && next >= '0' && next <= '9') {
      return next - '0' < handles.size() ? handles.get(next - '0') : null;
    }
    if (kind == '%' && (next == 'S' || next == 'O')) {
      Path dir = next == 'S' ? gateway.sandboxDir() : gateway.outsideDir();
      String rest = new String(payload, at + 6, n - 2, StandardCharsets.UTF_8);
      return (dir + rest).getBytes(StandardCharsets.UTF_8);
    }
    return null;
  }

  /** The sandbox as a sandbox's processes might have left it, the same before every input. */
  private static void resetSandbox() throws IOException {
    Path dir = gateway.sandboxDir();
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        if (!p.equals(dir)) {
          Files.delete(p);
        }
      }
    }
    Files.writeString(dir.resolve("a.txt"), "hello\n");
    Files.createDirectories(dir.resolve("d"));
    Files.writeString(dir.resolve("d/e.txt"), "e\n");
    Files.write(dir.resolve("big.bin"), BIG);
    Path outside = gateway.outsideDir();
    Files.createSymbolicLink(dir.resolve("link-out"), outside.resolve("secret.txt"));
    Files.createSymbolicLink(dir.resolve("link-dir-out"), outside);
    Files.createSymbolicLink(dir.resolve("link-up"), Path.of(".."));
    Files.createSymbolicLink(dir.resolve("link-in"), Path.of("a.txt"));
    Files.createSymbolicLink(dir.resolve("loop"), Path.of("loop"));
  }

  /**
   * Everything beside the sandbox: each entry of the gateway's temp dir but the sandbox, with type,
   * mode, owner, size, modification time and a hash of the content (the database and the agent's
   * socket are in there too, and do not change during an SFTP session).
   */
  private static Map<String, String> snapshotOutside() throws Exception {
    Map<String, String> entries = new TreeMap<>();
    try (Stream<Path> all = Files.walk(base)) {
      for (Path p : all.toList()) {
        if (p.startsWith(gateway.sandboxDir())
            || p.getFileName().toString().startsWith("gateway.db")) {
          continue;
        }
        PosixFileAttributes a =
            Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String content = "";
        if (a.isRegularFile()) {
          content =
              HexFormat.of()
                  .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
        } else if (a.isSymbolicLink()) {
          content = Files.readSymbolicLink(p).toString();
        }
        entries.put(
            base.relativize(p).toString(),
            String.join(
                " ",
                a.isDirectory() ? "d" : a.isRegularFile() ? "f" : a.isSymbolicLink() ? "l" : "o",
                a.permissions().toString(),
                a.owner().getName(),
                Long.toString(a.size()),
                a.lastModifiedTime().toString(),
                content));
      }
    }
    return entries;
  }

  private static boolean startsWithString(byte[] payload, String s) {
    byte[] expected =
        ByteBuffer.allocate(4 + s.length())
            .putInt(s.length())
            .put(s.getBytes(StandardCharsets.UTF_8))
            .array();
    return payload.length >= expected.length
        && java.util.Arrays.equals(payload, 0, expected.length, expected, 0, expected.length);
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** One reply: its type, its id (for SSH_FXP_VERSION, the version), and the bytes after them. */
  record Reply(int type, int id, byte[] body) {
    /** The first SSH string of the body (a handle, for SSH_FXP_HANDLE). */
    byte[] string() {
      ByteBuffer b = ByteBuffer.wrap(body);
      byte[] s = new byte[b.getInt()];
      b.get(s);
      return s;
    }
  }

  /** What the server sends on the channel, split into replies as they arrive. */
  private static final class Replies extends OutputStream {
    private final ByteArrayOutputStream all = new ByteArrayOutputStream();
    private int consumed;

    @Override
    public synchronized void write(int b) {
      all.write(b);
      notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      all.write(b, off, len);
      notifyAll();
    }

    synchronized byte[] all() {
      return all.toByteArray();
    }

    /**
     * The next reply; null when the subsystem ended first.
     *
     * @throws AssertionError when none came in {@link #REPLY_TIMEOUT} on an open channel
     */
    synchronized Reply next(ChannelSubsystem channel, String what) throws InterruptedException {
      long deadline = System.nanoTime() + REPLY_TIMEOUT.toNanos();
      while (true) {
        byte[] bytes = all.toByteArray();
        if (bytes.length - consumed >= 4) {
          int length = ByteBuffer.wrap(bytes, consumed, 4).getInt();
          if (bytes.length - consumed - 4 >= length) {
            ByteBuffer frame = ByteBuffer.wrap(bytes, consumed + 4, length);
            consumed += 4 + length;
            int type = frame.get() & 0xff;
            int id = frame.getInt();
            byte[] body = new byte[frame.remaining()];
            frame.get(body);
            return new Reply(type, id, body);
          }
        }
        // The subsystem ended: MINA sends its exit status and EOF, then closes the channel.
        if (channel.getExitStatus() != null || channel.isClosing() || !channel.isOpen()) {
          return null;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(
              "the SFTP server did not answer " + what + " in " + REPLY_TIMEOUT.toSeconds() + " s");
        }
        wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.min(left, 50_000_000))));
      }
    }
  }

  /**
   * The exception the SFTP server last logged as ending a session, as "SimpleClassName: message".
   * MINA attaches the exception itself only at debug level, so it is read from the line that its
   * SftpSubsystem.run writes, "run({}) {} caught in SFTP subsystem after {} buffers: {}"; should
   * that line change, nothing is found and the target fails rather than passes.
   */
  private static final class ExceptionLog extends AppenderBase<ILoggingEvent> {
    private volatile String last;

    @Override
    protected void append(ILoggingEvent event) {
      Object[] args = event.getArgumentArray();
      if (event.getLevel().isGreaterOrEqual(Level.WARN)
          && event.getMessage().contains("caught in SFTP subsystem")
          && args != null
          && args.length > 3) {
        last = args[1] + ": " + args[3];
      }
    }

    void clear() {
      last = null;
    }

    /** Waits a little for the log line: the session may close before it is written. */
    String ended() throws InterruptedException {
      for (int i = 0; i < 100 && last == null; i++) {
        Thread.sleep(10);
      }
      return last;
    }
  }
}
