package dev.sandboxssh.agent.process;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.ProcessEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * The last {@code capacity} bytes a process printed, replayed to a caller that re-attaches: a
 * terminal's output, or a command's stdout and stderr in the order it wrote them.
 */
final class Scrollback {
  /** Output of the same stream arriving in pieces smaller than this is kept as one piece. */
  private static final int MERGE = 8 * 1024;

  /** Which stream a piece came from. */
  enum Stream {
    STDOUT,
    STDERR,
    PTY
  }

  private static final class Piece {
    final Stream stream;
    byte[] bytes;
    int length;

    Piece(Stream stream, byte[] bytes, int length) {
      this.stream = stream;
      this.bytes = bytes;
      this.length = length;
    }
  }

  private final int capacity;
  private final Deque<Piece> pieces = new ArrayDeque<>();
  private int size;

  Scrollback(int capacity) {
    this.capacity = capacity;
  }

  /** Appends output, forgetting the oldest bytes beyond the capacity. */
  synchronized void append(Stream stream, ByteString data) {
    int n = Math.min(data.size(), capacity);
    if (n == 0) {
      return;
    }
    int from = data.size() - n;
    Piece last = pieces.peekLast();
    if (last != null && last.stream == stream && last.length + n <= MERGE) {
      if (last.bytes.length < last.length + n) {
        last.bytes =
            Arrays.copyOf(last.bytes, Math.min(MERGE, Math.max(2 * last.length, last.length + n)));
      }
      data.copyTo(last.bytes, from, last.length, n);
      last.length += n;
    } else {
      byte[] bytes = new byte[n < MERGE ? Math.min(MERGE, 2 * n) : n];
      data.copyTo(bytes, from, 0, n);
      pieces.addLast(new Piece(stream, bytes, n));
    }
    size += n;
    while (size > capacity) {
      Piece first = pieces.peekFirst();
      int excess = size - capacity;
      if (first.length <= excess) {
        pieces.removeFirst();
        size -= first.length;
      } else {
        first.bytes = Arrays.copyOfRange(first.bytes, excess, first.length);
        first.length -= excess;
        size -= excess;
      }
    }
  }

  /** The retained output as events of at most {@code maxChunk} bytes each, oldest first. */
  synchronized List<ProcessEvent> replay(int maxChunk) {
    List<ProcessEvent> events = new ArrayList<>();
    for (Piece p : pieces) {
      for (int off = 0; off < p.length; off += maxChunk) {
        ByteString bytes = ByteString.copyFrom(p.bytes, off, Math.min(maxChunk, p.length - off));
        ProcessEvent.Builder event = ProcessEvent.newBuilder();
        switch (p.stream) {
          case STDOUT -> event.setStdout(bytes);
          case STDERR -> event.setStderr(bytes);
          case PTY -> event.setPty(bytes);
        }
        events.add(event.build());
      }
    }
    return events;
  }
}
