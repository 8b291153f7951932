package dev.sandboxssh.agent.process;

/** The last {@code capacity} bytes a terminal printed, replayed to a caller that re-attaches. */
final class Scrollback {
  private final byte[] ring;
  private long written; // total bytes ever appended

  Scrollback(int capacity) {
    this.ring = new byte[capacity];
  }

  /** Appends output, forgetting the oldest bytes beyond the capacity. */
  synchronized void append(byte[] data) {
    int from = Math.max(0, data.length - ring.length);
    for (int i = from; i < data.length; i++) {
      ring[(int) ((written + i - from) % ring.length)] = data[i];
    }
    written += data.length - from;
  }

  /** The retained bytes, oldest first. */
  synchronized byte[] snapshot() {
    int size = (int) Math.min(written, ring.length);
    byte[] out = new byte[size];
    long start = written - size;
    for (int i = 0; i < size; i++) {
      out[i] = ring[(int) ((start + i) % ring.length)];
    }
    return out;
  }
}
