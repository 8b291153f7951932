package dev.sandboxssh.sdk.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
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

  /** Pipe, agent read buffer, gRPC windows and the SDK's in-flight chunk, with room to spare. */
  private static final long BOUND_WHILE_PAUSED = 64L << 20;

  @TempDir Path tmp;

  @Test
  void pausedCallerBlocksTheWriterAndThenGetsEveryByte() throws Exception {
    try (RootedAgentFixture agent = RootedAgentFixture.unconfined(tmp)) {
      CountDownLatch resume = new CountDownLatch(1);
      AtomicLong received = new AtomicLong();
      CommandHandle handle =
          agent
              .sandbox()
              .commands()
              .run(
                  "head -c " + GIB + " /dev/zero",
                  CommandOptions.create()
                      .onStdout(
                          data -> {
                            if (received.addAndGet(data.length) > (1 << 20)) {
                              await(resume);
                            }
                          }));
      // bash -c with a single command execs it: the pid is head's.
      Path io = Path.of("/proc", Integer.toString(handle.pid()), "io");
      Thread.sleep(1500);
      long first = writtenBy(io);
      Thread.sleep(1500);
      long second = writtenBy(io);
      assertThat(second).as("bytes written while the caller paused").isLessThan(BOUND_WHILE_PAUSED);
      assertThat(second - first).as("growth during the pause").isLessThan(1 << 20);

      resume.countDown();
      assertThat(handle.waitFor(Duration.ofMinutes(3)).exitCode()).isZero();
      assertThat(received.get()).isEqualTo(GIB);
    }
  }

  private static long writtenBy(Path procIo) throws Exception {
    for (String line : Files.readAllLines(procIo)) {
      if (line.startsWith("wchar:")) {
        return Long.parseLong(line.substring(6).trim());
      }
    }
    throw new AssertionError("no wchar in " + procIo);
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
