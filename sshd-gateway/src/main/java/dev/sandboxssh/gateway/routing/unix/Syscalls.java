package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The system calls on a handed-off stream's data path, bound by JNA's direct mapping, and reporting
 * failure as -1 with {@link #errno()} instead of an exception.
 *
 * <p>Why not {@link Posix}: an interface-mapped call goes through a reflective proxy, and a {@code
 * LastErrorException} fills in a stack trace. A bulk copy meets EAGAIN once or twice per chunk (the
 * pipe is drained, or full), so those costs were paid some 30,000 times per GB.
 */
final class Syscalls {
  static {
    Native.register(Syscalls.class, "c");
  }

  private Syscalls() {}

  /** {@code read(2)}: the count read, 0 at end of file, -1 on failure (see {@link #errno}). */
  static native long read(int fd, Pointer buffer, long count);

  /** {@code write(2)}: the count written, -1 on failure (see {@link #errno}). */
  static native long write(int fd, Pointer buffer, long count);

  /** {@code poll(2)} on {@code count} {@code struct pollfd}s: how many are ready, -1 on failure. */
  static native int poll(Pointer fds, long count, int timeoutMillis);

  /** The {@code errno} the calling thread's last call here left. */
  static int errno() {
    return Native.getLastError();
  }
}
