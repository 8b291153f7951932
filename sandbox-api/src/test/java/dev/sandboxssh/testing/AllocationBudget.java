package dev.sandboxssh.testing;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;

/**
 * How many bytes of heap one fuzz input made the code under test allocate, checked against a
 * budget: an input that makes a parser allocate far beyond its own size (a length field taken at
 * its word, a reply built for a bogus count) fails here even when the heap would still hold it. The
 * JVM's per-thread allocation counters are exact and cheap; threads that end before the check are
 * not counted.
 *
 * <p>Loading a class allocates on the loading thread (and Jazzer instruments each class as it is
 * loaded, tens of MiB for a library's first use), so an input during which classes were loaded is
 * run a second time and that run is measured: the targets' work is repeatable.
 */
public final class AllocationBudget {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private static final ClassLoadingMXBean CLASSES = ManagementFactory.getClassLoadingMXBean();

  /** One input's work. */
  public interface Work {
    void run() throws Exception;
  }

  private final long limitBytes;
  private final boolean allThreads;
  private final Map<Long, Long> before = new HashMap<>();

  private AllocationBudget(long limitBytes, boolean allThreads) {
    if (!THREADS.isThreadAllocatedMemorySupported() || !THREADS.isThreadAllocatedMemoryEnabled()) {
      // Without the counters the check would pass vacuously.
      throw new IllegalStateException("this JVM does not count allocated bytes per thread");
    }
    this.limitBytes = limitBytes;
    this.allThreads = allThreads;
  }

  /** A budget for work done on the calling thread only. */
  public static AllocationBudget thisThread(long limitBytes) {
    return new AllocationBudget(limitBytes, false);
  }

  /** A budget for work spread over threads (a server's I/O threads, an executor's). */
  public static AllocationBudget allThreads(long limitBytes) {
    return new AllocationBudget(limitBytes, true);
  }

  /**
   * Runs {@code work} and fails when it allocated more than the budget (see the class comment for
   * inputs that load classes).
   *
   * @throws AssertionError naming {@code what} and the bytes allocated
   */
  public void run(String what, Work work) throws Exception {
    long loaded = CLASSES.getTotalLoadedClassCount();
    start();
    work.run();
    if (CLASSES.getTotalLoadedClassCount() != loaded) {
      start();
      work.run();
    }
    check(what);
  }

  /** Starts counting for one input. */
  public void start() {
    before.clear();
    if (allThreads) {
      long[] ids = THREADS.getAllThreadIds();
      long[] bytes = THREADS.getThreadAllocatedBytes(ids);
      for (int i = 0; i < ids.length; i++) {
        before.put(ids[i], bytes[i]);
      }
    } else {
      before.put(Thread.currentThread().getId(), THREADS.getCurrentThreadAllocatedBytes());
    }
  }

  /** Bytes allocated since {@link #start}. */
  public long allocated() {
    if (!allThreads) {
      return THREADS.getCurrentThreadAllocatedBytes() - before.get(Thread.currentThread().getId());
    }
    long[] ids = THREADS.getAllThreadIds();
    long[] bytes = THREADS.getThreadAllocatedBytes(ids);
    long sum = 0;
    for (int i = 0; i < ids.length; i++) {
      if (bytes[i] >= 0) { // -1: the thread ended meanwhile
        sum += bytes[i] - before.getOrDefault(ids[i], 0L);
      }
    }
    return sum;
  }

  /**
   * Fails when the input cost more than the budget.
   *
   * @throws AssertionError naming {@code what} and the bytes allocated
   */
  public void check(String what) {
    long n = allocated();
    if (n > limitBytes) {
      throw new AssertionError(
          what + " allocated " + (n >> 10) + " KiB, over the budget of " + (limitBytes >> 10));
    }
  }
}
