package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.util.concurrent.locks.LockSupport;

/**
 * Blocking reads and writes on descriptors that can all be ended at once: every wait is a {@code
 * poll} that also watches one eventfd, and {@link #wakeAll} makes that eventfd readable for good.
 * Each thread passes a 16-byte {@link Memory} of its own for the poll set.
 */
final class Waker {
  private final Descriptor wake;

  Waker() throws IOException {
    try {
      wake = newEventfd();
    } catch (LastErrorException e) {
      throw new IOException("eventfd failed: errno " + e.getErrorCode());
    }
  }

  /** A non-blocking eventfd, for poll sets that must be woken from another thread. */
  static Descriptor newEventfd() {
    return new Descriptor(Posix.C.eventfd(0, Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK));
  }

  /** Makes {@code eventfd} readable, waking whoever polls it. */
  static void signal(Descriptor eventfd) {
    try (Memory one = new Memory(8)) {
      one.setLong(0, 1);
      Posix.C.write(eventfd.fd, one, new NativeLong(8));
    } catch (LastErrorException e) {
      // Only a counter overflow fails here, and then the eventfd is readable anyway.
    }
  }

  /** A poll set for one thread. */
  static Memory pollSet() {
    return new Memory(16);
  }

  /** Ends every wait, now and later. */
  void wakeAll() {
    if (!wake.acquire()) {
      return;
    }
    try {
      signal(wake);
    } finally {
      wake.release();
    }
  }

  /** Closes the eventfd once no thread waits on it; call after {@link #wakeAll}. */
  void close() {
    wake.close();
  }

  /**
   * Waits until {@code d} is ready for {@code events}, or {@link #wakeAll} was called; false for
   * the latter. Errors and hang-ups count as ready: the call that follows reports them.
   */
  boolean await(Descriptor d, short events, Memory set) throws IOException {
    return awaitWithin(d, events, set, -1) > 0;
  }

  /**
   * As {@link #await}, for at most {@code timeoutMillis} (-1: no limit): 1 when ready, 0 when the
   * time ran out, -1 when woken.
   */
  private int awaitWithin(Descriptor d, short events, Memory set, int timeoutMillis)
      throws IOException {
    if (!wake.acquire()) {
      return -1;
    }
    try {
      set.setInt(0, d.fd);
      set.setShort(4, events);
      set.setShort(6, (short) 0);
      set.setInt(8, wake.fd);
      set.setShort(12, Posix.POLLIN);
      set.setShort(14, (short) 0);
      while (true) {
        int ready = Syscalls.poll(set, 2, timeoutMillis);
        if (ready < 0) {
          int code = Syscalls.errno();
          if (code == Posix.EINTR) {
            continue;
          }
          throw new IOException("poll failed: errno " + code);
        }
        if (set.getShort(14) != 0) {
          return -1;
        }
        return ready == 0 ? 0 : 1;
      }
    } finally {
      wake.release();
    }
  }

  /**
   * Reads at most {@code max} bytes into {@code into} from a non-blocking descriptor, waiting at
   * most {@code timeoutMillis} (-1: no limit) for some; 0 when none came in that time, -1 at end of
   * file or once woken. A terminal whose last writer left (EIO) counts as end of file.
   */
  int readWithin(Descriptor d, Pointer into, int max, Memory set, int timeoutMillis)
      throws IOException {
    while (true) {
      int n = (int) Syscalls.read(d.fd, into, max);
      if (n >= 0) {
        return n == 0 ? -1 : n;
      }
      int code = Syscalls.errno();
      if (code == Posix.EAGAIN) {
        int ready = awaitWithin(d, Posix.POLLIN, set, timeoutMillis);
        if (ready <= 0) {
          return ready;
        }
      } else if (code == Posix.EIO) {
        return -1;
      } else if (code != Posix.EINTR) {
        throw new IOException("read failed: errno " + code);
      }
    }
  }

  /**
   * As {@link #readWithin} with no time limit, then takes whatever else is there now into the same
   * buffer, up to {@code max}: a fast writer leaves more behind, and per-chunk costs (a callback,
   * an SSH write and its flush), not bytes, bound throughput.
   */
  int readAvailable(Descriptor d, Pointer into, int max, Memory set) throws IOException {
    return readAvailableWithin(d, into, max, set, -1);
  }

  /** As {@link #readAvailable}, waiting as {@link #readWithin} does. */
  int readAvailableWithin(Descriptor d, Pointer into, int max, Memory set, int timeoutMillis)
      throws IOException {
    int n = readWithin(d, into, max, set, timeoutMillis);
    while (n > 0 && n < max) {
      int more = readNow(d, into.share(n), max - n);
      if (more <= 0) {
        break;
      }
      n += more;
    }
    return n;
  }

  /**
   * How long a short chunk of a streaming descriptor waits, once, for its writer's next write. A
   * process writes a pipe in 4-8 KiB pieces microseconds apart, and a reader on its own core wakes
   * for each: without the wait every SSH packet carried one piece, so packets, socket writes and
   * the client's work per byte were several times sshd's, which reads while the pipe filled.
   */
  static final long TOP_UP_NANOS = 50_000;

  /** A descriptor whose last data came within this long counts as streaming. */
  static final long STREAMING_NANOS = 2_000_000;

  /** A chunk this large is sent without waiting for more: one SSH packet's worth. */
  static final int FULL_CHUNK = 32 * 1024;

  /**
   * Adds to the {@code have} bytes at {@code into} what a streaming writer writes within {@link
   * #TOP_UP_NANOS}, up to {@code max}; the new count. A chunk of {@link #FULL_CHUNK} or more is
   * returned at once.
   */
  int topUp(Descriptor d, Pointer into, int have, int max) throws IOException {
    if (have >= Math.min(max, FULL_CHUNK)) {
      return have;
    }
    LockSupport.parkNanos(TOP_UP_NANOS);
    while (have < max) {
      int more = readNow(d, into.share(have), max - have);
      if (more <= 0) {
        break;
      }
      have += more;
    }
    return have;
  }

  /**
   * When one stream's reads last returned data, for {@link #topUp}: a short chunk waits for more
   * only while the stream is streaming. Its reads must come one at a time.
   */
  static final class Streaming {
    private long lastData = System.nanoTime() - STREAMING_NANOS;

    /** {@code have} bytes just read from {@code d}: topped up if the stream is streaming. */
    int topUp(Waker waker, Descriptor d, Pointer into, int have, int max) throws IOException {
      if (have <= 0) {
        return have;
      }
      long now = System.nanoTime();
      int n = now - lastData < STREAMING_NANOS ? waker.topUp(d, into, have, max) : have;
      lastData = now;
      return n;
    }
  }

  /** One read that never waits; 0 when nothing is there now (or at end of file). */
  private static int readNow(Descriptor d, Pointer into, int max) throws IOException {
    int n;
    do {
      n = countOrAgain(Syscalls.read(d.fd, into, max), "read");
    } while (n == INTERRUPTED);
    return n;
  }

  /** One write that never waits; the count written, 0 when the descriptor is full. */
  static int writeNow(Descriptor d, Pointer from, int n) throws IOException {
    int written;
    do {
      written = countOrAgain(Syscalls.write(d.fd, from, n), "write");
    } while (written == INTERRUPTED);
    return written;
  }

  /** What {@link #countOrAgain} returns for EINTR: make the call again. */
  private static final int INTERRUPTED = -1;

  /**
   * A non-blocking read's or write's result, read right after the call (errno is the calling
   * thread's until its next native call): the count, 0 for EAGAIN, {@link #INTERRUPTED} for EINTR.
   */
  private static int countOrAgain(long result, String call) throws IOException {
    if (result >= 0) {
      return (int) result;
    }
    int code = Syscalls.errno();
    if (code == Posix.EAGAIN) {
      return 0;
    }
    if (code == Posix.EINTR) {
      return INTERRUPTED;
    }
    throw new IOException(call + " failed: errno " + code);
  }

  /**
   * Writes {@code len} bytes of {@code b} through {@code staging} (native memory, a chunk at a
   * time) to a non-blocking descriptor, waiting while it is full.
   *
   * @throws IOException when woken first, or a write failed
   */
  void writeAll(Descriptor d, Memory staging, byte[] b, int off, int len, Memory set)
      throws IOException {
    while (len > 0) {
      int n = (int) Math.min(len, staging.size());
      staging.write(0, b, off, n);
      writeFully(d, staging, n, set);
      off += n;
      len -= n;
    }
  }

  /**
   * Writes what a non-blocking descriptor takes of {@code b} at once, through {@code staging}: the
   * bytes written, 0 when it is full.
   *
   * @throws IOException when the write failed
   */
  int writeSome(Descriptor d, Memory staging, byte[] b, int off, int len) throws IOException {
    int n = (int) Math.min(len, staging.size());
    staging.write(0, b, off, n);
    return writeNow(d, staging, n);
  }

  /**
   * Writes {@code n} bytes of {@code from} to a non-blocking descriptor, waiting while it is full.
   *
   * @throws IOException when woken first, or the write failed
   */
  private void writeFully(Descriptor d, Pointer from, int n, Memory set) throws IOException {
    for (int done = 0; done < n; ) {
      int written = writeNow(d, from.share(done), n - done);
      if (written > 0) {
        done += written;
      } else if (!await(d, Posix.POLLOUT, set)) {
        throw new IOException("closed");
      }
    }
  }
}
