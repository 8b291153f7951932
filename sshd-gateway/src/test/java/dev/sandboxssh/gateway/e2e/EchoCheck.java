package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Pushes pseudo-random bytes through a connection to an echo server and checks that the same bytes
 * came back (SHA-256 of what was sent against what was received), writing and reading at once so
 * both directions carry the full amount together.
 */
public final class EchoCheck {
  private EchoCheck() {}

  /** Runs the check over a TCP connection to {@code 127.0.0.1:port} of this host. */
  public static void overTcp(int port, long bytes) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout((int) Timeouts.TRANSFER.toMillis());
      run(s.getInputStream(), s.getOutputStream(), s::shutdownOutput, bytes);
    }
  }

  /** Runs the check over a unix socket of this host. */
  public static void overUnix(Path socket, long bytes) throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      // Not Channels.newInputStream/newOutputStream: both hold the channel's blocking lock, so a
      // blocked read would keep the writer out.
      InputStream in =
          new InputStream() {
            @Override
            public int read() throws IOException {
              byte[] one = new byte[1];
              return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              return ch.read(ByteBuffer.wrap(b, off, len));
            }
          };
      OutputStream out =
          new OutputStream() {
            @Override
            public void write(int b) throws IOException {
              write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
              ByteBuffer buf = ByteBuffer.wrap(b, off, len);
              while (buf.hasRemaining()) {
                ch.write(buf);
              }
            }
          };
      run(in, out, ch::shutdownOutput, bytes);
    }
  }

  /** A callback that half-closes the connection. */
  @FunctionalInterface
  public interface HalfClose {
    /** Half-closes. */
    void run() throws IOException;
  }

  /** Runs the check over any connection; returns once the echo ended with end-of-file. */
  public static void run(InputStream in, OutputStream out, HalfClose shutdown, long bytes)
      throws Exception {
    // A thread of its own: the common pool may have a single thread on a two-core machine.
    CompletableFuture<String> sent = new CompletableFuture<>();
    Thread writer =
        new Thread(
            () -> {
              try {
                MessageDigest sha = sha256();
                Random random = new Random(bytes);
                byte[] buf = new byte[128 * 1024];
                for (long left = bytes; left > 0; ) {
                  int n = (int) Math.min(buf.length, left);
                  random.nextBytes(buf);
                  out.write(buf, 0, n);
                  sha.update(buf, 0, n);
                  left -= n;
                }
                out.flush();
                shutdown.run();
                sent.complete(HexFormat.of().formatHex(sha.digest()));
              } catch (IOException | RuntimeException e) {
                sent.completeExceptionally(e);
              }
            },
            "echo-check-writer");
    writer.setDaemon(true);
    writer.start();
    MessageDigest received = sha256();
    long count = 0;
    byte[] buf = new byte[128 * 1024];
    for (int n; (n = in.read(buf)) > 0; ) {
      received.update(buf, 0, n);
      count += n;
    }
    String sentSha = sent.get(Timeouts.TRANSFER.toSeconds(), TimeUnit.SECONDS);
    assertThat(count).as("bytes echoed").isEqualTo(bytes);
    assertThat(HexFormat.of().formatHex(received.digest())).as("SHA-256").isEqualTo(sentSha);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
