package dev.sandboxssh.gateway.server;

/**
 * Chooses the size of each socket read's buffer for one connection: small while the client sends
 * little (keystrokes, window adjustments), large once a read fills the small one.
 *
 * <p>A connection always has one read outstanding, so its buffer lives as long as the connection.
 * MINA's own buffer is 32 KB per connection, most of what an idle interactive session holds in the
 * gateway; bulk uploads need that size, since each read costs a system call and a hand-off.
 */
final class ReadBufferSizer {
  /**
   * Larger than what a login sends in one go, certificates included: a shell's reads stay small.
   */
  static final int SMALL = 4 * 1024;

  /**
   * Short reads in a row before a large buffer is dropped: a paste or an upload that pauses keeps
   * its buffer, an interactive session gives it back within a few keystrokes.
   */
  static final int SHRINK_AFTER = 16;

  private final int large;
  private int shortReads;

  /** A sizer whose large buffers hold {@code large} bytes. */
  ReadBufferSizer(int large) {
    if (large <= SMALL) {
      throw new IllegalArgumentException("large read buffer " + large + " <= " + SMALL);
    }
    this.large = large;
  }

  /** The size to read into first. */
  int initial() {
    return SMALL;
  }

  /** Records that a read into {@code capacity} bytes got {@code read}; returns the next size. */
  int afterRead(int read, int capacity) {
    if (read >= capacity) {
      // The client sent at least a buffer's worth: more is likely waiting.
      shortReads = 0;
      return Math.max(capacity, large);
    }
    if (capacity <= SMALL) {
      return capacity;
    }
    if (read >= SMALL) {
      shortReads = 0;
      return capacity;
    }
    if (++shortReads < SHRINK_AFTER) {
      return capacity;
    }
    shortReads = 0;
    return SMALL;
  }
}
