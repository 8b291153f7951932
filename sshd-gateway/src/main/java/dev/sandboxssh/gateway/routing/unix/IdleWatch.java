package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that polls the descriptors of every idle handed-off stream, so that an idle session
 * holds no thread of its own: a reader that saw nothing for a while parks its descriptor here and
 * returns its thread; the watch runs the reader's task once the descriptor is readable.
 *
 * <p>A parked descriptor is held ({@link Descriptor#acquire}) until its task runs, so its number
 * cannot be closed and reused while it is in the poll set.
 */
final class IdleWatch {
  private static final Logger log = LoggerFactory.getLogger(IdleWatch.class);

  /** The watch every handed-off stream of this gateway parks in. */
  static final IdleWatch SHARED = new IdleWatch();

  private final Map<Descriptor, Runnable> parked = new LinkedHashMap<>(); // guarded by this
  private Descriptor wake; // guarded by this; the eventfd that makes the thread re-read parked

  /**
   * Runs {@code task} once {@code d} is readable, at its end, or in error. Returns false, running
   * nothing, when {@code d} is already closing.
   */
  boolean park(Descriptor d, Runnable task) {
    if (!d.acquire()) {
      return false;
    }
    Descriptor poke;
    synchronized (this) {
      try {
        start();
      } catch (LastErrorException e) {
        d.release();
        throw new IllegalStateException("cannot start the idle watch: errno " + e.getErrorCode());
      }
      parked.put(d, task);
      poke = wake;
    }
    Waker.signal(poke);
    return true;
  }

  /** Runs {@code d}'s task now if it is parked: its stream is closing. */
  void unpark(Descriptor d) {
    Runnable task;
    synchronized (this) {
      task = parked.remove(d);
    }
    if (task != null) {
      d.release();
      run(task);
    }
  }

  /** How many descriptors are parked now. */
  synchronized int parkedCount() {
    return parked.size();
  }

  private void start() {
    if (wake != null) {
      return;
    }
    wake = Waker.newEventfd();
    Thread thread = new Thread(this::loop, "idle-stdio-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    Memory set = new Memory(8L * 64);
    Memory counter = new Memory(8);
    while (true) {
      Descriptor[] order;
      int wakeFd;
      synchronized (this) {
        order = parked.keySet().toArray(new Descriptor[0]);
        wakeFd = wake.fd;
      }
      long need = 8L * (order.length + 1);
      if (set.size() < need) {
        set.close();
        set = new Memory(Math.max(need, set.size() * 2));
      }
      setEntry(set, 0, wakeFd);
      for (int i = 0; i < order.length; i++) {
        setEntry(set, i + 1, order[i].fd);
      }
      try {
        Posix.C.poll(set, new NativeLong(order.length + 1), -1);
      } catch (LastErrorException e) {
        if (e.getErrorCode() != Posix.EINTR) {
          log.warn("idle watch: poll failed: errno {}", e.getErrorCode());
        }
        continue;
      }
      if (set.getShort(6) != 0) {
        try {
          Posix.C.read(wakeFd, counter, new NativeLong(8));
        } catch (LastErrorException e) {
          // EAGAIN: another poke was read already.
        }
      }
      for (int i = 0; i < order.length; i++) {
        if (set.getShort(8L * (i + 1) + 6) != 0) {
          unpark(order[i]);
        }
      }
    }
  }

  private static void setEntry(Memory set, int index, int fd) {
    long at = 8L * index;
    set.setInt(at, fd);
    set.setShort(at + 4, Posix.POLLIN);
    set.setShort(at + 6, (short) 0);
  }

  private static void run(Runnable task) {
    try {
      task.run();
    } catch (RuntimeException e) {
      // A task that cannot hand its work on (an executor shut down with the gateway).
      log.debug("idle watch: task failed: {}", e.toString());
    }
  }
}
