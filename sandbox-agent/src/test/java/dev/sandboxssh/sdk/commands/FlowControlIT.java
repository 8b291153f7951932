package dev.sandboxssh.sdk.commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caller that stops reading slows the process instead of growing the agent: while the caller
 * pauses, the writer of 1 GiB stays blocked after a bounded amount.
 */
@Tag("e2e")
class FlowControlIT {
  private static final long GIB = 1L << 30;

  /** The caller stops reading once it has this much: the writer produced at least as much. */
  private static final long PAUSE_AFTER = 4L << 20;

  /** Pipe, agent read buffer, gRPC windows and the SDK's in-flight chunk, with room to spare. */
  private static final long BOUND_WHILE_PAUSED = 64L << 20;

  /** The writer counts as blocked once its byte count stood still for this long. */
  private static final Duration STILL_FOR = Duration.ofMillis(500);

  @TempDir Path tmp;

  @Test
  void pausedCallerBlocksTheWriterAndThenGetsEveryByte() throws Exception {
    try (RootedAgentFixture agent = RootedAgentFixture.unconfined(tmp)) {
      CountDownLatch paused = new CountDownLatch(1);
      CountDownLatch resume = new CountDownLatch(1);
      AtomicLong received = new AtomicLong();
      // The command runs under `bash -l -c`: the writer records its own pid, which head keeps
      // across the exec, so what is measured below is the process that writes.
      CommandHandle handle =
          agent
              .sandbox()
              .commands()
              .run(
                  "echo $BASHPID > writer.pid && exec head -c " + GIB + " /dev/zero",
                  CommandOptions.create()
                      .onStdout(
                          data -> {
                            if (received.addAndGet(data.length) >= PAUSE_AFTER) {
                              paused.countDown();
                              await(resume);
                            }
                          }));
      try {
        Writer writer = Writer.await(agent.sandboxDir().resolve("writer.pid"));
        assertThat(paused.await(1, TimeUnit.MINUTES)).as("the caller paused").isTrue();
        assertThat(writer.written())
            .as("bytes the writer wrote before the caller paused")
            .isGreaterThanOrEqualTo(PAUSE_AFTER);

        long whilePaused = writer.awaitBlocked(BOUND_WHILE_PAUSED, Duration.ofSeconds(30));
        assertThat(whilePaused)
            .as("bytes written once blocked while the caller paused")
            .isLessThanOrEqualTo(BOUND_WHILE_PAUSED);
      } finally {
        resume.countDown();
      }
      assertThat(handle.waitFor(Duration.ofMinutes(3)).exitCode()).isZero();
      assertThat(received.get()).isEqualTo(GIB);
    }
  }

  /** The writing process, seen through /proc: its byte count and where it sleeps. */
  private record Writer(int pid) {
    /** Waits for the pid file, and for that pid to be head's (after the exec). */
    static Writer await(Path pidFile) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      String seen = "no pid file";
      while (System.nanoTime() < deadline) {
        try {
          String text = Files.readString(pidFile).strip();
          if (!text.isEmpty()) {
            Writer writer = new Writer(Integer.parseInt(text));
            seen = "pid " + text + " runs " + writer.proc("comm").strip();
            if (seen.endsWith(" head")) {
              return writer;
            }
          }
        } catch (NoSuchFileException e) {
          // Not written yet.
        }
        Thread.sleep(20);
      }
      return fail("the writer is not head: " + seen);
    }

    /** Bytes it wrote so far (wchar: what its write calls moved). */
    long written() throws IOException {
      for (String line : proc("io").split("\n")) {
        if (line.startsWith("wchar:")) {
          return Long.parseLong(line.substring(6).trim());
        }
      }
      throw new AssertionError("no wchar in /proc/" + pid + "/io");
    }

    /**
     * Waits until the writer sleeps in a pipe write and its count stands still for {@link
     * #STILL_FOR}, and returns that count; fails as soon as the count exceeds {@code bound}.
     */
    long awaitBlocked(long bound, Duration timeout) throws Exception {
      long deadline = System.nanoTime() + timeout.toNanos();
      long last = -1;
      long stillSince = System.nanoTime();
      while (true) {
        long now = written();
        String wchan = proc("wchan");
        if (now > bound) {
          fail("the writer wrote %d bytes while the caller paused (bound %d)", now, bound);
        }
        if (now != last || !wchan.contains("pipe_write")) {
          last = now;
          stillSince = System.nanoTime();
        } else if (System.nanoTime() - stillSince >= STILL_FOR.toNanos()) {
          return now;
        }
        if (System.nanoTime() > deadline) {
          fail("the writer did not block within %s: %d bytes, in %s", timeout, now, wchan);
        }
        Thread.sleep(50);
      }
    }

    String proc(String name) throws IOException {
      return Files.readString(Path.of("/proc", Integer.toString(pid), name));
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
