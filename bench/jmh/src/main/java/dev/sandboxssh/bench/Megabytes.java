package dev.sandboxssh.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Payload bytes moved, in MB (10^6 bytes, as bench/compare.sh counts), as a secondary result: JMH
 * divides it by the iteration's time, so the {@code :mb} row of a benchmark reads in MB/s, though
 * JMH labels its unit "ops/s".
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Megabytes {
  public double mb;

  /** JMH does not reset counters itself. */
  @Setup(Level.Iteration)
  public void reset() {
    mb = 0;
  }

  /** Counts {@code bytes} more. */
  public void add(long bytes) {
    mb += bytes / 1e6;
  }
}
