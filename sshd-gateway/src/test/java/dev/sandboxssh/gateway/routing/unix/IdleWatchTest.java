package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A handed-off stream parks in the shared watch while idle and resumes on output or close. */
class IdleWatchTest {
  private static final long WAIT_SECONDS = 10;

  interface LibC extends Library {
    LibC C = Native.load("c", LibC.class);

    int pipe(int[] fds);

    long write(int fd, byte[] buffer, long count);

    int close(int fd);
  }

  private static int[] pipe() {
    int[] fds = new int[2];
    assertThat(LibC.C.pipe(fds)).isZero();
    return fds;
  }

  /** A process's three pipes: the stdio's ends go to the PolledStdio, this keeps the far ends. */
  private static final class Pipes implements AutoCloseable {
    private final int[] in = pipe();
    private final int[] out = pipe();
    private final int[] err = pipe();

    PolledStdio stdio() throws IOException {
      return new PolledStdio(new int[] {in[1], out[0], err[0]}, false);
    }

    void writeStdout(String text) {
      byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
      LibC.C.write(out[1], bytes, bytes.length);
    }

    /** The process's end of stdout goes away, as when it exits. */
    void closeStdoutWriter() {
      LibC.C.close(out[1]);
      out[1] = -1;
    }

    @Override
    public void close() {
      for (int fd : new int[] {in[0], out[1], err[1]}) {
        if (fd >= 0) {
          LibC.C.close(fd);
        }
      }
    }
  }

  @Test
  void anIdleStreamParksAndItsTaskRunsOnceOutputComes() throws Exception {
    try (Pipes pipes = new Pipes();
        PolledStdio stdio = pipes.stdio()) {
      byte[] buffer = new byte[16];
      assertThat(stdio.stdout().read(buffer, 0, buffer.length, 50))
          .as("nothing came within the wait")
          .isZero();

      int before = IdleWatch.SHARED.parkedCount();
      CountDownLatch readable = new CountDownLatch(1);
      stdio.stdout().whenReadable(readable::countDown);
      assertThat(IdleWatch.SHARED.parkedCount()).isEqualTo(before + 1);
      assertThat(readable.await(200, TimeUnit.MILLISECONDS))
          .as("ran with nothing to read")
          .isFalse();

      pipes.writeStdout("x");
      assertThat(readable.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      assertThat(IdleWatch.SHARED.parkedCount()).isEqualTo(before);
      assertThat(stdio.stdout().read(buffer, 0, buffer.length, 1000)).isEqualTo(1);
      assertThat(buffer[0]).isEqualTo((byte) 'x');
    }
  }

  @Test
  void closingRunsAParkedTaskAndItsReadSeesTheEnd() throws Exception {
    try (Pipes pipes = new Pipes()) {
      PolledStdio stdio = pipes.stdio();
      int before = IdleWatch.SHARED.parkedCount();
      CountDownLatch stdoutTask = new CountDownLatch(1);
      CountDownLatch stderrTask = new CountDownLatch(1);
      stdio.stdout().whenReadable(stdoutTask::countDown);
      stdio.stderr().whenReadable(stderrTask::countDown);
      assertThat(IdleWatch.SHARED.parkedCount()).isEqualTo(before + 2);

      stdio.close();
      assertThat(stdoutTask.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      assertThat(stderrTask.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      assertThat(IdleWatch.SHARED.parkedCount()).isEqualTo(before);
      assertThat(stdio.stdout().read(new byte[4], 0, 4, 1000)).isEqualTo(-1);

      CountDownLatch afterClose = new CountDownLatch(1);
      stdio.stdout().whenReadable(afterClose::countDown);
      assertThat(afterClose.getCount()).as("runs at once on a closed stream").isZero();
    }
  }

  @Test
  void theWriterLeavingWakesAParkedStream() throws Exception {
    try (Pipes pipes = new Pipes();
        PolledStdio stdio = pipes.stdio()) {
      CountDownLatch readable = new CountDownLatch(1);
      stdio.stdout().whenReadable(readable::countDown);
      pipes.closeStdoutWriter();
      assertThat(readable.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      assertThat(stdio.stdout().read(new byte[4], 0, 4, 1000)).isEqualTo(-1);
    }
  }
}
