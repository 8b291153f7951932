package dev.sandboxssh.gateway.bridge.io;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * What a client sent, in order, until a worker writes it on: byte[] chunks and the caller's own
 * markers (EOF, close). Chunks queued back to back come out joined, up to a limit, since each write
 * costs the same whatever its size. Not thread-safe: callers hold their own lock.
 */
public final class ChunkQueue {
  private final ArrayDeque<Object> items = new ArrayDeque<>();
  private final int joinLimit;

  /** A queue that joins chunks up to {@code joinLimit} bytes. */
  public ChunkQueue(int joinLimit) {
    this.joinLimit = joinLimit;
  }

  /** Appends a byte[] chunk or a marker. */
  public void add(Object item) {
    items.add(item);
  }

  /** Whether nothing is queued. */
  public boolean isEmpty() {
    return items.isEmpty();
  }

  /** The next item, or null; a chunk comes joined with the chunks right behind it. */
  public Object next() {
    Object item = items.poll();
    if (!(item instanceof byte[] first) || !(items.peek() instanceof byte[])) {
      return item;
    }
    // Sized first, so that the chunks are copied once, into an array of the joined size.
    int size = first.length;
    int count = 0;
    for (Object more : items) {
      if (!(more instanceof byte[] chunk) || size + chunk.length > joinLimit) {
        break;
      }
      size += chunk.length;
      count++;
    }
    if (count == 0) {
      return first;
    }
    byte[] joined = Arrays.copyOf(first, size);
    int at = first.length;
    for (int i = 0; i < count; i++) {
      byte[] chunk = (byte[]) items.poll();
      System.arraycopy(chunk, 0, joined, at, chunk.length);
      at += chunk.length;
    }
    return joined;
  }
}
