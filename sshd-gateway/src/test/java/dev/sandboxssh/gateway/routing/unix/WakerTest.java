package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A streaming descriptor's short chunk is topped up once; a full one is left as it is. */
class WakerTest {
  private static final int KIB = 1024;

  private int[] pipe;
  private Descriptor readEnd;
  private Waker waker;

  @BeforeEach
  void setUp() throws Exception {
    pipe = new int[2];
    assertThat(IdleWatchTest.LibC.C.pipe(pipe)).isZero();
    int flags = Posix.C.fcntl(pipe[0], Posix.F_GETFL, 0);
    Posix.C.fcntl(pipe[0], Posix.F_SETFL, flags | Posix.O_NONBLOCK);
    readEnd = new Descriptor(pipe[0]);
    waker = new Waker();
  }

  @AfterEach
  void tearDown() {
    readEnd.close();
    IdleWatchTest.LibC.C.close(pipe[1]);
    waker.close();
  }

  private void writeKib(int kib) {
    byte[] bytes = new byte[kib * KIB];
    assertThat(IdleWatchTest.LibC.C.write(pipe[1], bytes, bytes.length)).isEqualTo(bytes.length);
  }

  @Test
  void aShortChunkTakesWhatTheWriterAddedMeanwhile() throws Exception {
    try (Memory into = new Memory(64 * KIB);
        Memory set = Waker.pollSet()) {
      writeKib(8);
      int first = waker.readAvailable(readEnd, into, 64 * KIB, set);
      assertThat(first).isEqualTo(8 * KIB);

      writeKib(8);
      writeKib(8);
      assertThat(waker.topUp(readEnd, into, first, 64 * KIB)).isEqualTo(24 * KIB);
    }
  }

  @Test
  void aFullChunkIsReturnedWithoutReadingMore() throws Exception {
    try (Memory into = new Memory(64 * KIB);
        Memory set = Waker.pollSet()) {
      writeKib(32);
      int first = waker.readAvailable(readEnd, into, 64 * KIB, set);
      assertThat(first).isEqualTo(Waker.FULL_CHUNK);

      writeKib(8);
      assertThat(waker.topUp(readEnd, into, first, 64 * KIB)).isEqualTo(first);
      // The 8 KiB are still in the pipe for the next read.
      assertThat(waker.readAvailable(readEnd, into, 64 * KIB, set)).isEqualTo(8 * KIB);
    }
  }

  @Test
  void aStreamsFirstDataIsNotToppedUpAndNoDataPassesThrough() throws Exception {
    try (Memory into = new Memory(64 * KIB);
        Memory set = Waker.pollSet()) {
      Waker.Streaming streaming = new Waker.Streaming();
      assertThat(streaming.topUp(waker, readEnd, into, 0, 64 * KIB)).isZero();
      assertThat(streaming.topUp(waker, readEnd, into, -1, 64 * KIB)).isEqualTo(-1);

      writeKib(8);
      int first = waker.readAvailable(readEnd, into, 64 * KIB, set);
      writeKib(8);
      // Nothing came within the streaming window before: the 8 KiB just written stay in the pipe.
      assertThat(streaming.topUp(waker, readEnd, into, first, 64 * KIB)).isEqualTo(8 * KIB);
      assertThat(waker.readAvailable(readEnd, into, 64 * KIB, set)).isEqualTo(8 * KIB);
    }
  }

  @Test
  void aTopUpStopsAtTheBuffersEnd() throws Exception {
    try (Memory into = new Memory(16 * KIB);
        Memory set = Waker.pollSet()) {
      writeKib(4);
      int first = waker.readAvailable(readEnd, into, 16 * KIB, set);
      writeKib(32);
      assertThat(waker.topUp(readEnd, into, first, 16 * KIB)).isEqualTo(16 * KIB);
    }
  }
}
