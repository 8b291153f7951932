package dev.sandboxssh.gateway.bridge.files;

import java.io.EOFException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.apache.sshd.common.Closeable;
import org.apache.sshd.common.channel.IoWriteFutureImpl;
import org.apache.sshd.common.channel.exception.SshChannelBufferedOutputException;
import org.apache.sshd.common.io.IoOutputStream;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.closeable.AbstractInnerCloseable;

/**
 * The SFTP subsystem's reply stream: queues replies, bounded like MINA's {@code
 * BufferedIoOutputStream}, and writes them a channel packet at a time, packing what has queued.
 *
 * <p>Why: a read reply is the data asked for and a 13-byte header. MINA's SFTP server wrote each
 * reply on its own, and the channel copied whole every reply longer than a packet before cutting it
 * (OpenSSH's sftp asked this server for 223 KiB at a time); here a chunk within one reply is a view
 * of it. Replies that queue while a chunk is being written (the socket or the client's window full)
 * are cut across their boundaries, as sshd packs the bytes of its sftp-server's pipe, and only such
 * a chunk is copied. A reply written while nothing is queued goes out at once, so a lone reply
 * waits for nothing: on loopback, where the socket takes each packet as it comes, that is most
 * replies, and a reply to a read of 32 KiB ({@code sftp -B 32768}) still ends in a 13-byte packet.
 */
final class PacketFillingOutputStream extends AbstractInnerCloseable implements IoOutputStream {
  private final Object id;
  private final long channelId;
  private final IoOutputStream out;
  private final IntSupplier packetSize;
  private final int maxPendingBytes;
  private final Duration maxWait;

  private final Object lock = new Object();
  // Guarded by lock: replies not yet wholly written (the head maybe in part), their unwritten
  // bytes, whether a chunk is being written, and the failure that ends the stream.
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private long pendingBytes;
  private boolean writing;
  private IOException failure;

  private record Pending(Buffer buffer, IoWriteFutureImpl future) {}

  /** A chunk being written and the futures of the replies it completes. */
  private record Chunk(Buffer buffer, int size, List<IoWriteFutureImpl> completes) {}

  /**
   * Writes to {@code out} in chunks of at most {@code packetSize} bytes (at least 1); a writer
   * waits while more than {@code maxPendingBytes} are queued (one reply may exceed it), at most
   * {@code maxWait}.
   */
  PacketFillingOutputStream(
      Object id,
      long channelId,
      IoOutputStream out,
      IntSupplier packetSize,
      int maxPendingBytes,
      Duration maxWait) {
    this.id = id;
    this.channelId = channelId;
    this.out = out;
    this.packetSize = packetSize;
    this.maxPendingBytes = maxPendingBytes;
    this.maxWait = maxWait;
  }

  @Override
  public IoWriteFuture writeBuffer(Buffer buffer) throws IOException {
    if (isClosing()) {
      throw new EOFException("closed: " + id);
    }
    IoWriteFutureImpl future = new IoWriteFutureImpl(id, buffer);
    int size = buffer.available();
    synchronized (lock) {
      awaitSpace(size);
      queue.add(new Pending(buffer, future));
      pendingBytes += size;
      if (writing) {
        return future;
      }
      writing = true;
    }
    drain();
    return future;
  }

  // Under lock. As BufferedIoOutputStream: one reply may pass the bound when nothing else waits,
  // and a peer that takes nothing for maxWait fails the stream for good.
  private void awaitSpace(int size) throws IOException {
    long deadline = System.nanoTime() + maxWait.toNanos();
    while (failure == null && pendingBytes > 0 && pendingBytes + size > maxPendingBytes) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        failure =
            new SshChannelBufferedOutputException(
                channelId, "no write space for " + maxWait.toMillis() + " ms");
        break;
      }
      try {
        lock.wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure = new SshChannelBufferedOutputException(channelId, "interrupted waiting to write");
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  // Writes chunks while any are queued; at most one is in flight. A write that completes before
  // this thread looks at it is followed here, not from its listener, so the stack stays flat.
  private void drain() {
    while (true) {
      Chunk chunk = nextChunk();
      if (chunk == null) {
        return;
      }
      IoWriteFuture written;
      try {
        written = out.writeBuffer(chunk.buffer());
      } catch (IOException | RuntimeException e) {
        fail(chunk, e);
        return;
      }
      if (!written.isDone()) {
        written.addListener(
            f -> {
              if (finished(chunk, f)) {
                drain();
              }
            });
        return;
      }
      if (!finished(chunk, written)) {
        return;
      }
    }
  }

  private Chunk nextChunk() {
    List<IoWriteFutureImpl> abandoned;
    IOException error;
    synchronized (lock) {
      if (queue.isEmpty()) {
        writing = false;
        return null;
      }
      if (failure == null) {
        return cut();
      }
      // A writer gave up waiting for space: what it had queued before is abandoned as well.
      error = failure;
      abandoned = takeQueued();
    }
    for (IoWriteFutureImpl f : abandoned) {
      f.setValue(error);
    }
    return null;
  }

  // Under lock: the next chunk, from the head of a non-empty queue.
  private Chunk cut() {
    int limit = packetSize.getAsInt();
    List<IoWriteFutureImpl> completes = new ArrayList<>(2);
    Pending head = queue.peek();
    Buffer first = head.buffer();
    if (first.available() >= limit || queue.size() == 1) {
      int n = Math.min(first.available(), limit);
      Buffer view = new ByteArrayBuffer(first.array(), first.rpos(), n);
      first.rpos(first.rpos() + n);
      if (first.available() == 0) {
        completes.add(queue.poll().future());
      }
      return new Chunk(view, n, completes);
    }
    ByteArrayBuffer packed = new ByteArrayBuffer(limit, false);
    while (packed.wpos() < limit && !queue.isEmpty()) {
      Buffer b = queue.peek().buffer();
      int n = Math.min(b.available(), limit - packed.wpos());
      packed.putRawBytes(b.array(), b.rpos(), n);
      b.rpos(b.rpos() + n);
      if (b.available() == 0) {
        completes.add(queue.poll().future());
      }
    }
    return new Chunk(packed, packed.available(), completes);
  }

  /** Settles a chunk's write; true when the next one may go. */
  private boolean finished(Chunk chunk, IoWriteFuture written) {
    if (!written.isWritten()) {
      Throwable t = written.getException();
      fail(chunk, t != null ? t : new EOFException("write not done: " + id));
      return false;
    }
    synchronized (lock) {
      pendingBytes -= chunk.size();
      lock.notifyAll();
    }
    for (IoWriteFutureImpl f : chunk.completes()) {
      f.setValue(Boolean.TRUE);
    }
    return true;
  }

  // Every reply not yet written fails with the first error, and so does every later write: a
  // reply stream with a gap in it is of no use to the client.
  private void fail(Chunk chunk, Throwable cause) {
    List<IoWriteFutureImpl> failed = new ArrayList<>(chunk.completes());
    IOException error;
    synchronized (lock) {
      if (failure == null) {
        failure =
            cause instanceof SshChannelBufferedOutputException e
                ? e
                : new SshChannelBufferedOutputException(channelId, cause);
      }
      error = failure;
      failed.addAll(takeQueued());
    }
    for (IoWriteFutureImpl f : failed) {
      f.setValue(error);
    }
  }

  // Under lock: the futures of the replies not yet wholly written.
  private List<IoWriteFutureImpl> queuedFutures() {
    List<IoWriteFutureImpl> futures = new ArrayList<>(queue.size());
    for (Pending p : queue) {
      futures.add(p.future());
    }
    return futures;
  }

  // Under lock: empties the queue of a failed stream.
  private List<IoWriteFutureImpl> takeQueued() {
    List<IoWriteFutureImpl> futures = queuedFutures();
    queue.clear();
    pendingBytes = 0;
    writing = false;
    lock.notifyAll();
    return futures;
  }

  @Override
  protected Closeable getInnerCloseable() {
    List<IoWriteFutureImpl> unwritten;
    synchronized (lock) {
      unwritten = queuedFutures();
    }
    return builder().when(id, unwritten).close(out).build();
  }

  @Override
  public String toString() {
    return "PacketFillingOutputStream(" + id + ")[" + out + "]";
  }
}
