package dev.sandboxssh.gateway.routing.unix;

/**
 * One file descriptor shared by the threads that read, write or poll it. It is closed only once
 * closing was asked for and no thread is inside a call on it, so its number cannot be reused under
 * a call still in flight.
 */
final class Descriptor {
  final int fd;
  private int users; // guarded by this
  private boolean closing; // guarded by this
  private boolean closed; // guarded by this

  Descriptor(int fd) {
    this.fd = fd;
  }

  /** Enters a call on the descriptor; false once closing was asked for. */
  synchronized boolean acquire() {
    if (closing) {
      return false;
    }
    users++;
    return true;
  }

  /** Leaves a call entered with {@link #acquire}. */
  void release() {
    synchronized (this) {
      users--;
      if (!closing || users > 0 || closed) {
        return;
      }
      closed = true;
    }
    Posix.C.close(fd);
  }

  /** Closes the descriptor now, or when the last call on it returns; idempotent. */
  void close() {
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
      if (users > 0) {
        return;
      }
      closed = true;
    }
    Posix.C.close(fd);
  }
}
