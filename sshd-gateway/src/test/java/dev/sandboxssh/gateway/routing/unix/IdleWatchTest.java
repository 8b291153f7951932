package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Library;
import com.sun.jna.Native;
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

  @Test
  void anIdleStreamParksAndItsTaskRunsOnceOutputComes() throws Exception {
    int[] in = pipe();
    int[] out = pipe();
    int[] err = pipe();
    try (PolledStdio stdio = new PolledStdio(new int[] {in[1], out[0], err[0]}, false)) {
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

      LibC.C.write(out[1], "x".getBytes(StandardCharsets.US_ASCII), 1);
      assertThat(readable.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      assertThat(IdleWatch.SHARED.parkedCount()).isEqualTo(before);
      assertThat(stdio.stdout().read(buffer, 0, buffer.length, 1000)).isEqualTo(1);
      assertThat(buffer[0]).isEqualTo((byte) 'x');
    } finally {
      LibC.C.close(in[0]);
      LibC.C.close(out[1]);
      LibC.C.close(err[1]);
    }
  }

  @Test
  void closingRunsAParkedTaskAndItsReadSeesTheEnd() throws Exception {
    int[] in = pipe();
    int[] out = pipe();
    int[] err = pipe();
    try {
      PolledStdio stdio = new PolledStdio(new int[] {in[1], out[0], err[0]}, false);
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
    } finally {
      LibC.C.close(in[0]);
      LibC.C.close(out[1]);
      LibC.C.close(err[1]);
    }
  }

  @Test
  void theWriterLeavingWakesAParkedStream() throws Exception {
    int[] in = pipe();
    int[] out = pipe();
    int[] err = pipe();
    try (PolledStdio stdio = new PolledStdio(new int[] {in[1], out[0], err[0]}, false)) {
      CountDownLatch readable = new CountDownLatch(1);
      stdio.stdout().whenReadable(readable::countDown);
      LibC.C.close(out[1]);
      assertThat(readable.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      assertThat(stdio.stdout().read(new byte[4], 0, 4, 1000)).isEqualTo(-1);
    } finally {
      LibC.C.close(in[0]);
      LibC.C.close(err[1]);
    }
  }
}
