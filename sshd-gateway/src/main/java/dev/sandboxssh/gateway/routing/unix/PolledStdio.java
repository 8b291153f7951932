package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import dev.sandboxssh.gateway.routing.ProcessStdio;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A handed-off process's pipes or terminal master, read and written with plain system calls. Every
 * wait is a {@code poll} that also watches an eventfd, so {@link #close} ends blocked reads at once
 * (a background job that keeps a pipe open must not hold the gateway's thread).
 *
 * <p>Pipes are switched to non-blocking (after the hand-off the gateway holds their only copy on
 * this side), so a busy stream costs one system call per chunk. A terminal's master stays blocking,
 * since the agent shares it (for resize and input of its own), and is polled before each call.
 */
final class PolledStdio implements ProcessStdio {
  /** Bytes read per call from a pipe, and written per call into one. */
  private static final int PIPE_CHUNK = 256 * 1024;

  /** Bytes read per call from a terminal: a screenful or so at a time, little memory when idle. */
  private static final int TERMINAL_CHUNK = 16 * 1024;

  /** Bytes written per call into a terminal (its input queue holds 4 KiB). */
  private static final int TERMINAL_WRITE = 1024;

  private static final short POLLIN = Posix.POLLIN;
  private static final short POLLOUT = Posix.POLLOUT;

  private final boolean terminal;
  private final Descriptor wake;
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
      this.wake = new Descriptor(Posix.C.eventfd(0, Posix.EFD_CLOEXEC | Posix.EFD_NONBLOCK));
      if (!terminal) {
        for (int fd : fds) {
          int flags = Posix.C.fcntl(fd, Posix.F_GETFL, 0);
          Posix.C.fcntl(fd, Posix.F_SETFL, flags | Posix.O_NONBLOCK);
        }
      }
    } catch (LastErrorException e) {
      for (int fd : fds) {
        Posix.C.close(fd);
      }
      throw new IOException("cannot set up the process's stdio: errno " + e.getErrorCode());
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
  public InputStream stdout() {
    return stdout;
  }

  @Override
  public InputStream stderr() {
    return stderr;
  }

  @Override
  public void close() {
    if (wake.acquire()) {
      try (Memory one = new Memory(8)) {
        one.setLong(0, 1);
        Posix.C.write(wake.fd, one, new NativeLong(8));
      } catch (LastErrorException e) {
        // Only a counter overflow fails here, and then the eventfd is readable anyway.
      } finally {
        wake.release();
      }
    }
    in.close();
    out.close();
    if (err != null) {
      err.close();
    }
    wake.close();
  }

  /**
   * Waits until {@code d} is ready for {@code events}, or closing began; false for the latter.
   * Errors and hang-ups count as ready: the call that follows reports them.
   */
  private boolean await(Descriptor d, short events, Memory fds) throws IOException {
    if (!wake.acquire()) {
      return false;
    }
    try {
      fds.setInt(0, d.fd);
      fds.setShort(4, events);
      fds.setShort(6, (short) 0);
      fds.setInt(8, wake.fd);
      fds.setShort(12, POLLIN);
      fds.setShort(14, (short) 0);
      while (true) {
        try {
          Posix.C.poll(fds, new NativeLong(2), -1);
        } catch (LastErrorException e) {
          if (e.getErrorCode() == Posix.EINTR) {
            continue;
          }
          throw new IOException("poll failed: errno " + e.getErrorCode());
        }
        return fds.getShort(14) == 0;
      }
    } finally {
      wake.release();
    }
  }

  /** One output stream of the process. */
  private final class Input extends InputStream {
    private final Descriptor d;
    private final int chunk;
    private final Memory pollFds = new Memory(16);
    private Memory staging; // allocated at the first read: an idle session costs no buffer

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
        while (true) {
          // The terminal's master blocks: wait first, so that close() can end the wait.
          if (terminal && !await(d, POLLIN, pollFds)) {
            return -1;
          }
          int n;
          try {
            n = Posix.C.read(d.fd, staging, new NativeLong(want)).intValue();
          } catch (LastErrorException e) {
            int code = e.getErrorCode();
            if (code == Posix.EINTR) {
              continue;
            }
            if (code == Posix.EAGAIN) {
              if (!await(d, POLLIN, pollFds)) {
                return -1;
              }
              continue;
            }
            if (terminal && code == Posix.EIO) {
              return -1; // the terminal's last writer is gone: its end of file
            }
            throw new IOException("read failed: errno " + code);
          }
          if (n == 0) {
            return -1;
          }
          // A fast writer leaves more in the pipe: take it into the same chunk, since per-chunk
          // costs (one SSH write, packets, a flush), not bytes, bound throughput.
          while (!terminal && n < want) {
            int more = readMore(d, staging.share(n), want - n);
            if (more <= 0) {
              break;
            }
            n += more;
          }
          staging.read(0, b, off, n);
          return n;
        }
      } finally {
        d.release();
      }
    }

    @Override
    public void close() {
      d.close();
    }

    /** One non-blocking read; 0 when nothing more is there now (or at end of file). */
    private int readMore(Descriptor d, Pointer into, int max) throws IOException {
      while (true) {
        try {
          return Posix.C.read(d.fd, into, new NativeLong(max)).intValue();
        } catch (LastErrorException e) {
          if (e.getErrorCode() == Posix.EAGAIN) {
            return 0;
          }
          if (e.getErrorCode() != Posix.EINTR) {
            throw new IOException("read failed: errno " + e.getErrorCode());
          }
        }
      }
    }
  }

  /** The process's input. */
  private final class Output extends OutputStream {
    private final Descriptor d;
    private final Memory pollFds = new Memory(16);
    private Memory staging; // allocated at the first write

    Output(Descriptor d) {
      this.d = d;
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
        int chunk = terminal ? TERMINAL_WRITE : PIPE_CHUNK;
        if (staging == null) {
          staging = new Memory(chunk);
        }
        while (len > 0) {
          int n = Math.min(len, chunk);
          staging.write(0, b, off, n);
          for (int done = 0; done < n; ) {
            if (terminal && !await(d, POLLOUT, pollFds)) {
              throw new IOException("stdin is closed");
            }
            try {
              done += Posix.C.write(d.fd, staging.share(done), new NativeLong(n - done)).intValue();
            } catch (LastErrorException e) {
              int code = e.getErrorCode();
              if (code == Posix.EAGAIN) {
                if (!await(d, POLLOUT, pollFds)) {
                  throw new IOException("stdin is closed");
                }
              } else if (code != Posix.EINTR) {
                throw new IOException("write to stdin failed: errno " + code);
              }
            }
          }
          off += n;
          len -= n;
        }
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
