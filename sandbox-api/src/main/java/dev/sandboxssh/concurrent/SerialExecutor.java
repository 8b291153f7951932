package dev.sandboxssh.concurrent;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Runs tasks one at a time, in order, on a shared pool: one stream's callbacks or writes are
 * ordered and may block without holding up the pool's other users (gRPC's threads, other tunnels,
 * other sessions).
 */
public final class SerialExecutor implements Executor {
  private final Executor pool;
  private final Queue<Runnable> tasks = new ArrayDeque<>();
  private boolean running; // guarded by tasks

  /** Runs tasks on {@code pool}, never two of them at once. */
  public SerialExecutor(Executor pool) {
    this.pool = pool;
  }

  /**
   * Queues {@code task} behind the earlier ones.
   *
   * @throws RejectedExecutionException when the pool refuses to run the queue
   */
  @Override
  public void execute(Runnable task) {
    synchronized (tasks) {
      tasks.add(task);
      if (running) {
        return;
      }
      running = true;
    }
    try {
      pool.execute(this::drain);
    } catch (RejectedExecutionException e) {
      synchronized (tasks) {
        running = false;
        tasks.clear();
      }
      throw e;
    }
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (tasks) {
        next = tasks.poll();
        if (next == null) {
          running = false;
          return;
        }
      }
      next.run();
    }
  }
}
