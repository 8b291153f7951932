package dev.sandboxssh.sdk.network;

import dev.sandboxssh.sdk.TunnelHandler;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/** Hashes what a tunnel delivers, keeps the first bytes, and records eof and close. */
final class RecordingHandler implements TunnelHandler {
  private static final int KEEP = 64 * 1024;

  final CountDownLatch eof = new CountDownLatch(1);
  final CompletableFuture<Throwable> closed = new CompletableFuture<>();
  private final MessageDigest digest;
  private final ByteArrayOutputStream head = new ByteArrayOutputStream();
  private long count;

  RecordingHandler() {
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public synchronized void onData(byte[] data) {
    digest.update(data);
    count += data.length;
    if (head.size() < KEEP) {
      head.write(data, 0, Math.min(data.length, KEEP - head.size()));
    }
  }

  @Override
  public void onEof() {
    eof.countDown();
  }

  @Override
  public void onClose(Throwable error) {
    closed.complete(error);
  }

  synchronized long count() {
    return count;
  }

  synchronized byte[] sha256() {
    return digest.digest();
  }

  synchronized String head() {
    return head.toString(java.nio.charset.StandardCharsets.UTF_8);
  }
}
