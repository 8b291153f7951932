package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until a deadline, for things that happen asynchronously. */
public final class Eventually {
  private static final long POLL_MILLIS = 50;

  private Eventually() {}

  /** Waits until {@code condition} holds, failing with {@code what} after {@code timeout}. */
  public static void until(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("not within %s: %s", timeout, what);
      }
      pause();
    }
  }

  /** As {@link #until(String, Duration, BooleanSupplier)}, describing the state on failure. */
  public static void until(
      Supplier<String> state, Duration timeout, BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("not within %s: %s; state: %s", timeout, what, state.get());
      }
      pause();
    }
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
