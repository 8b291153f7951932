package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.sandboxssh.gateway.routing.IdleInputStream;
import dev.sandboxssh.gateway.routing.ProcessStdio;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A handed-off process's pipes or terminal master, read and written with plain system calls. Every
 * wait can be ended by {@link #close} (see {@link Waker}): a background job that keeps a pipe open
 * must not hold the gateway's thread.
 *
 * <p>Every descriptor is switched to non-blocking, so a busy stream costs one system call per chunk
 * and {@link #writeNow} never waits. (After the hand-off the gateway holds the pipes' only copies
 * on this side; a terminal's master the agent shares, and its own writes wait out EAGAIN.)
 */
final class PolledStdio implements ProcessStdio {
  /** Bytes read per call from a pipe, and written per call into one. */
  private static final int PIPE_CHUNK = 256 * 1024;

  /** Bytes read per call from a terminal: a screenful or so at a time, little memory when idle. */
  private static final int TERMINAL_CHUNK = 16 * 1024;

  /** Bytes written per call into a terminal: keystrokes, or a paste 4 KiB at a time. */
  private static final int TERMINAL_WRITE = 4096;

  private final boolean terminal;
  private final Waker waker;
  private final Descriptor in;
  private final Descriptor out;
  private final Descriptor err;
  private final Input stdout;
  private final Input stderr;
  private final Output stdin;

  /**
   * Takes ownership of {@code fds}: stdin, stdout and stderr pipes, or one terminal master.
   *
   * @throws IOException when the eventfd or the non-blocking mode cannot be had
   */
  PolledStdio(int[] fds, boolean terminal) throws IOException {
    this.terminal = terminal;
    try {
      this.waker = new Waker();
      for (int fd : fds) {
        int flags = Posix.C.fcntl(fd, Posix.F_GETFL, 0);
        Posix.C.fcntl(fd, Posix.F_SETFL, flags | Posix.O_NONBLOCK);
      }
    } catch (IOException | LastErrorException e) {
      for (int fd : fds) {
        Posix.C.close(fd);
      }
      throw new IOException("cannot set up the process's stdio: " + e.getMessage());
    }
    this.in = new Descriptor(fds[0]);
    this.out = terminal ? in : new Descriptor(fds[1]);
    this.err = terminal ? null : new Descriptor(fds[2]);
    this.stdout = new Input(out, terminal ? TERMINAL_CHUNK : PIPE_CHUNK);
    this.stderr = terminal ? null : new Input(err, PIPE_CHUNK);
    this.stdin = new Output(in);
  }

  @Override
  public OutputStream stdin() {
    return stdin;
  }

  @Override
  public int writeNow(byte[] b, int off, int len) throws IOException {
    return stdin.writeNow(b, off, len);
  }

  @Override
  public IdleInputStream stdout() {
    return stdout;
  }

  @Override
  public IdleInputStream stderr() {
    return stderr;
  }

  @Override
  public void close() {
    waker.wakeAll();
    // A parked reader's task runs now and reads the end; the watch lets go of the descriptor.
    stdout.unpark();
    if (stderr != null) {
      stderr.unpark();
    }
    in.close();
    out.close();
    if (err != null) {
      err.close();
    }
    waker.close();
  }

  /** One output stream of the process. */
  private final class Input extends IdleInputStream {
    private final Descriptor d;
    private final int chunk;
    private final Memory pollSet = Waker.pollSet();
    // Allocated at the first read after a start or a park: an idle stream costs no buffer.
    private Memory staging;
    // Tells a streaming pipe (see Waker.topUp).
    private final Waker.Streaming streaming = new Waker.Streaming();

    Input(Descriptor d, int chunk) {
      this.d = d;
      this.chunk = chunk;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return read(b, off, len, -1);
    }

    @Override
    public int read(byte[] b, int off, int len, int waitMillis) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!d.acquire()) {
        return -1;
      }
      try {
        if (staging == null) {
          staging = new Memory(chunk);
        }
        int want = Math.min(len, chunk);
        // A pipe's bursts are joined; a terminal's output goes out as it comes, for latency.
        int n;
        if (terminal) {
          n = waker.readWithin(d, staging, want, pollSet, waitMillis);
        } else {
          n = waker.readAvailableWithin(d, staging, want, pollSet, waitMillis);
          n = streaming.topUp(waker, d, staging, n, want);
        }
        if (n > 0) {
          staging.read(0, b, off, n);
        }
        return n;
      } finally {
        d.release();
      }
    }

    @Override
    public void whenReadable(Runnable task) {
      if (staging != null) {
        staging.close();
        staging = null;
      }
      if (!IdleWatch.SHARED.park(d, task)) {
        task.run(); // closing: the task's read sees the end
      }
    }

    @Override
    public void close() {
      d.close();
    }

    void unpark() {
      IdleWatch.SHARED.unpark(d);
    }
  }

  /** The process's input. */
  private final class Output extends OutputStream {
    private final Descriptor d;
    private final Memory pollSet = Waker.pollSet();
    private Memory staging; // allocated at the first write

    Output(Descriptor d) {
      this.d = d;
    }

    private Memory staging() {
      if (staging == null) {
        staging = new Memory(terminal ? TERMINAL_WRITE : PIPE_CHUNK);
      }
      return staging;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (!d.acquire()) {
        throw new IOException("stdin is closed");
      }
      try {
        waker.writeAll(d, staging(), b, off, len, pollSet);
      } catch (IOException e) {
        throw new IOException("stdin: " + e.getMessage(), e);
      } finally {
        d.release();
      }
    }

    int writeNow(byte[] b, int off, int len) throws IOException {
      if (!d.acquire()) {
        throw new IOException("stdin is closed");
      }
      try {
        Memory into = staging();
        int n = (int) Math.min(len, into.size());
        into.write(0, b, off, n);
        return Waker.writeNow(d, into, n);
      } finally {
        d.release();
      }
    }

    /** Closes stdin: the process reads end of file (for a pipe; a terminal's stays open). */
    @Override
    public void close() {
      if (!terminal) {
        d.close();
      }
    }
  }
}
