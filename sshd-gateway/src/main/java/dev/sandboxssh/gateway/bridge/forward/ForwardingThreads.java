package dev.sandboxssh.gateway.bridge.forward;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads forwarding blocks on, away from MINA's I/O threads: dials and listens (which wait for
 * the agent) and writes into tunnels (which wait for gRPC flow control).
 *
 * @param workers runs blocking work; grows with the number of busy tunnels
 * @param timer schedules grace periods
 */
public record ForwardingThreads(ExecutorService workers, ScheduledExecutorService timer)
    implements AutoCloseable {

  /** Fresh daemon threads named {@code forward-N}. */
  public static ForwardingThreads create() {
    return new ForwardingThreads(
        Executors.newCachedThreadPool(daemon("forward")),
        Executors.newSingleThreadScheduledExecutor(daemon("forward-timer")));
  }

  /** Stops both pools. */
  @Override
  public void close() {
    workers.shutdownNow();
    timer.shutdownNow();
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
