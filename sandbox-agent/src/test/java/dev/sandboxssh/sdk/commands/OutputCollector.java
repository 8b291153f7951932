package dev.sandboxssh.sdk.commands;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;

/** Collects a process's output and lets a test wait until some text appeared. */
final class OutputCollector implements Consumer<byte[]> {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  @Override
  public synchronized void accept(byte[] data) {
    bytes.write(data, 0, data.length);
    notifyAll();
  }

  /** Everything received so far. */
  synchronized String text() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** Waits until the output contains {@code needle}; false on timeout. */
  synchronized boolean await(String needle, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!text().contains(needle)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      wait(Math.max(1, left / 1_000_000));
    }
    return true;
  }
}
