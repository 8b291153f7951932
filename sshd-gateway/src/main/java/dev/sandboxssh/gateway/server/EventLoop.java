package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import org.apache.sshd.common.util.Readable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread with one selector, owning the connections registered with it: it reads them, runs
 * their handlers (decryption, key exchange, channel requests) inline, and writes what a socket
 * could not take at once. Other threads reach it through {@link #execute}.
 */
final class EventLoop implements Executor {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);

  /**
   * What a selection key's attachment does when its channel is ready. Runs on the loop's thread.
   */
  interface Ready {
    void ready(SelectionKey key);
  }

  // Every connection of this loop reads into this one buffer and its handler copies the bytes out
  // before returning, so an idle connection holds no read buffer at all. Direct, so a read is one
  // copy from the kernel rather than two through the JDK's temporary direct buffer.
  private final ByteBuffer readBuffer;
  private final Readable readable;
  private final Selector selector;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private volatile boolean running = true;

  EventLoop(String name, int readBufferSize) throws IOException {
    this.readBuffer = ByteBuffer.allocateDirect(readBufferSize);
    this.readable = Readable.readable(readBuffer);
    this.selector = Selector.open();
    this.thread = new Thread(this::run, name);
    thread.setDaemon(true);
    thread.start();
  }

  Selector selector() {
    return selector;
  }

  /** The loop's shared read buffer; only its own thread may use it. */
  ByteBuffer readBuffer() {
    return readBuffer;
  }

  /** The shared read buffer's bytes between position and limit, as MINA's handlers take them. */
  Readable readable() {
    return readable;
  }

  /** Whether the caller runs on this loop's thread. */
  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  /** Runs the task on the loop's thread, after the current round of ready channels. */
  @Override
  public void execute(Runnable task) {
    tasks.add(task);
    wakeup();
  }

  /** Work for {@link #executeAndWait} that may fail with an I/O error. */
  interface IoTask {
    void run() throws IOException;
  }

  /**
   * Runs the task on the loop's thread and waits for it, throwing what it threw; runs it directly
   * on the loop itself.
   */
  void executeAndWait(IoTask task) throws IOException {
    if (inLoop() || !thread.isAlive()) {
      task.run();
      return;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    execute(
        () -> {
          try {
            task.run();
            done.complete(null);
          } catch (IOException | RuntimeException | Error e) {
            done.completeExceptionally(e);
          }
        });
    try {
      done.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting for " + thread.getName());
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw (Error) cause;
    }
  }

  /**
   * Makes the loop look again at its keys: a change of interest from another thread takes effect
   * only at the next select, and a closed channel's socket is only released there.
   */
  void wakeup() {
    if (!inLoop()) {
      selector.wakeup();
    }
  }

  /**
   * Selects once without waiting, on the loop's thread: a closed channel's socket is released only
   * when its selector deregisters it.
   */
  void releaseClosed() throws IOException {
    selector.selectNow(this::dispatch);
  }

  /** Stops the loop; it closes every channel still registered with it. */
  void stop() {
    running = false;
    selector.wakeup();
  }

  private void run() {
    while (running) {
      try {
        runTasks();
        selector.select(this::dispatch);
      } catch (IOException | RuntimeException e) {
        // A handler's failure is its connection's, and is caught in dispatch; this is the
        // selector's own, which leaves nothing to do but go on.
        log.warn("{}: {}", thread.getName(), e.toString(), e);
      }
    }
    for (SelectionKey key : selector.keys()) {
      try {
        key.channel().close();
      } catch (IOException e) {
        log.debug("closing {} on stop: {}", key.channel(), e.toString());
      }
    }
    try {
      selector.close();
    } catch (IOException e) {
      log.debug("closing the selector of {}: {}", thread.getName(), e.toString());
    }
  }

  private void dispatch(SelectionKey key) {
    try {
      ((Ready) key.attachment()).ready(key);
    } catch (CancelledKeyException e) {
      // Its channel was closed by another thread since the select; nothing is left to do.
    } catch (RuntimeException e) {
      log.warn("{}: {} failed: {}", thread.getName(), key.attachment(), e.toString(), e);
    }
  }

  private void runTasks() {
    for (Runnable task = tasks.poll(); task != null; task = tasks.poll()) {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.warn("{}: task failed: {}", thread.getName(), e.toString(), e);
      }
    }
  }
}
