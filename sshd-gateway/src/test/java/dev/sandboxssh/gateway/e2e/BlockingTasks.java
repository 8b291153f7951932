package dev.sandboxssh.gateway.e2e;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Threads for the tests' blocking work: reading a client's output, feeding its input, waiting for a
 * process. Never the common pool: on two cores it has one thread, and on JDK 25 CompletableFuture's
 * default async tasks queue there behind each other, so one blocked reader stalls the next until
 * the test times out.
 */
final class BlockingTasks {
  static final ExecutorService THREADS =
      Executors.newCachedThreadPool(
          task -> {
            Thread t = new Thread(task, "test-blocking");
            t.setDaemon(true);
            return t;
          });

  private BlockingTasks() {}
}
