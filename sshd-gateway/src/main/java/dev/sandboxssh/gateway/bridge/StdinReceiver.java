package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.bridge.io.ChunkQueue;
import dev.sandboxssh.gateway.bridge.io.InputWindow;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import org.apache.sshd.server.channel.ChannelDataReceiver;
import org.apache.sshd.server.channel.ChannelSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session channel's input, taken on MINA's I/O thread. Where the process's stdin takes bytes
 * without blocking (a handed-off pipe or terminal), they are written there at once, so a keystroke
 * crosses no other thread; everything else is queued in order and written by one bridge thread at a
 * time. The channel's window reopens only as bytes reach the process, so a process that does not
 * read holds the client back and the queue never exceeds one window.
 */
final class StdinReceiver implements ChannelDataReceiver {
  private static final Logger log = LoggerFactory.getLogger(StdinReceiver.class);

  /** Queued chunks are written together up to this size: fewer calls per byte uploaded. */
  private static final int COALESCE_BYTES = 256 * 1024;

  private static final Object EOF = new Object();

  /** Where the bytes go. */
  interface Target {
    /** Writes what stdin takes now without waiting; the count, 0 when it is full. */
    int writeNow(byte[] b, int off, int len) throws IOException;

    /** Writes all of it, waiting while the process does not read. */
    void write(byte[] b, int off, int len) throws IOException;

    /** The client sent EOF. */
    void end() throws IOException;
  }

  private final ChannelSession channel;
  private final Executor threads;
  private final BooleanSupplier mayWriteNow;
  private final Runnable beforeQueuedWrite;
  private final ChunkQueue queue = new ChunkQueue(COALESCE_BYTES); // guarded by this
  private Target target; // guarded by this
  private boolean draining; // guarded by this
  private boolean ended; // guarded by this

  /**
   * Input for {@code channel}.
   *
   * @param mayWriteNow false while bytes must wait (a window change not yet applied)
   * @param beforeQueuedWrite runs on the bridge thread before each queued write (waits for that)
   */
  StdinReceiver(
      ChannelSession channel,
      Executor threads,
      BooleanSupplier mayWriteNow,
      Runnable beforeQueuedWrite) {
    this.channel = channel;
    this.threads = threads;
    this.mayWriteNow = mayWriteNow;
    this.beforeQueuedWrite = beforeQueuedWrite;
  }

  /** The process runs: what was queued goes to {@code t}, then everything else. */
  synchronized void attach(Target t) {
    target = t;
    drainIfNeeded();
  }

  @Override
  public int data(ChannelSession ch, byte[] buf, int start, int len) {
    synchronized (this) {
      int now = 0;
      if (target != null && !draining && queue.isEmpty() && mayWriteNow.getAsBoolean()) {
        try {
          now = target.writeNow(buf, start, len);
        } catch (IOException e) {
          // The process's stdin is gone: drop it (and open the window) as a closed pipe would.
          log.debug("stdin closed: {}", e.toString());
          return len;
        }
        if (now == len) {
          return len;
        }
      }
      queue.add(Arrays.copyOfRange(buf, start + now, start + len));
      drainIfNeeded();
      return now;
    }
  }

  /** The client's EOF (MINA calls this at the channel's close too; only the first counts). */
  @Override
  public synchronized void close() {
    if (ended) {
      return;
    }
    ended = true;
    queue.add(EOF);
    drainIfNeeded();
  }

  private void drainIfNeeded() {
    if (target != null && !draining && !queue.isEmpty()) {
      draining = true;
      threads.execute(this::drain);
    }
  }

  private void drain() {
    while (true) {
      Object item;
      Target t;
      synchronized (this) {
        item = queue.next();
        if (item == null) {
          draining = false;
          return;
        }
        t = target;
      }
      beforeQueuedWrite.run();
      try {
        if (item == EOF) {
          t.end();
        } else {
          byte[] chunk = (byte[]) item;
          try {
            t.write(chunk, 0, chunk.length);
          } finally {
            InputWindow.reopen(channel.getLocalWindow(), chunk.length);
          }
        }
      } catch (IOException | RuntimeException e) {
        // The process or its stdin ended first; its own path reports that.
        log.debug("stdin write stopped: {}", e.toString());
      }
    }
  }
}
