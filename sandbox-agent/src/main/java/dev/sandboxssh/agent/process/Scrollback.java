package dev.sandboxssh.agent.process;

import com.google.protobuf.ByteString;

/** The last {@code capacity} bytes a terminal printed, replayed to a caller that re-attaches. */
final class Scrollback {
  private final byte[] ring;
  private long written; // total bytes ever appended

  Scrollback(int capacity) {
    this.ring = new byte[capacity];
  }

  /** Appends output, forgetting the oldest bytes beyond the capacity. */
  synchronized void append(ByteString data) {
    int size = data.size();
    int from = Math.max(0, size - ring.length);
    int count = size - from;
    // At most two copies: up to the end of the ring, then from its start.
    int at = (int) (written % ring.length);
    int first = Math.min(count, ring.length - at);
    data.copyTo(ring, from, at, first);
    data.copyTo(ring, from + first, 0, count - first);
    written += count;
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
