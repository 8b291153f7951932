package dev.sandboxssh.gateway.bridge.io;

import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;

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
    ByteArrayOutputStream joined = new ByteArrayOutputStream(joinLimit);
    joined.writeBytes(first);
    while (items.peek() instanceof byte[] more && joined.size() + more.length <= joinLimit) {
      joined.writeBytes(more);
      items.poll();
    }
    return joined.toByteArray();
  }
}
