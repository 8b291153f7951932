package dev.sandboxssh.sdk;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.FileChunk;
import dev.sandboxssh.api.v1.ReadRequest;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

/**
 * A Read rpc as an {@link InputStream}. The stream asks the agent for {@link #WINDOW} chunks ahead
 * and for one more each time the caller has consumed one, so at most that many chunks (64 KiB each)
 * are ever buffered here, however slowly the caller reads.
 */
final class RemoteInputStream extends InputStream {
  /** Chunks requested ahead of the caller: enough to keep a fast link busy, little memory. */
  static final int WINDOW = 8;

  private static final Object END = new Object();

  private final String path;
  // Holds at most WINDOW elements plus the end marker: the agent sends only what was requested.
  private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
  private volatile ClientCallStreamObserver<ReadRequest> call;
  private ByteString current = ByteString.EMPTY;
  private int position;
  private boolean ended;
  private boolean closed;

  private RemoteInputStream(String path) {
    this.path = path;
  }

  /** Starts the call with {@code start} and waits for its first answer, so opening errors throw. */
  static RemoteInputStream open(
      String path, Consumer<ClientResponseObserver<ReadRequest, FileChunk>> start)
      throws IOException {
    RemoteInputStream in = new RemoteInputStream(path);
    start.accept(in.new Observer());
    in.fill();
    return in;
  }

  private final class Observer implements ClientResponseObserver<ReadRequest, FileChunk> {
    @Override
    public void beforeStart(ClientCallStreamObserver<ReadRequest> requestStream) {
      call = requestStream;
      requestStream.disableAutoRequestWithInitial(WINDOW);
    }

    @Override
    public void onNext(FileChunk chunk) {
      events.add(chunk.getData());
    }

    @Override
    public void onError(Throwable t) {
      events.add(t);
    }

    @Override
    public void onCompleted() {
      events.add(END);
    }
  }

  /** Makes {@code current} hold unread bytes unless the file ended; false at the end. */
  private boolean fill() throws IOException {
    while (position == current.size()) {
      if (ended) {
        return false;
      }
      Object event;
      try {
        event = events.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        close();
        throw new InterruptedIOException("interrupted reading " + path);
      }
      if (event == END) {
        ended = true;
        return false;
      }
      if (event instanceof Throwable t) {
        ended = true;
        throw FileErrors.toIo(path, t);
      }
      current = (ByteString) event;
      position = 0;
      call.request(1);
    }
    return true;
  }

  @Override
  public int read() throws IOException {
    ensureOpen();
    return fill() ? current.byteAt(position++) & 0xff : -1;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    ensureOpen();
    java.util.Objects.checkFromIndexSize(offset, length, buffer.length);
    if (length == 0) {
      return 0;
    }
    if (!fill()) {
      return -1;
    }
    int n = Math.min(length, current.size() - position);
    current.copyTo(buffer, position, offset, n);
    position += n;
    return n;
  }

  @Override
  public int available() {
    return current.size() - position;
  }

  private void ensureOpen() throws IOException {
    if (closed) {
      throw new IOException("stream closed: " + path);
    }
  }

  /** Cancels the read unless it already ended. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (!ended) {
      call.cancel("reader closed the stream", null);
    }
    events.clear();
  }
}
