package dev.sandboxssh.sdk;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.WriteOpen;
import dev.sandboxssh.api.v1.WriteReply;
import dev.sandboxssh.api.v1.WriteRequest;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.function.Function;

/**
 * A Write rpc as an {@link OutputStream}. Bytes are gathered into chunks of {@link #CHUNK}; each
 * chunk is sent only while gRPC says the agent keeps up, else {@code write} blocks, so memory here
 * stays at one chunk whatever the caller does.
 */
final class RemoteOutputStream extends OutputStream {
  /** Bytes per message. */
  static final int CHUNK = 64 * 1024;

  private final String path;
  private final Object lock = new Object();
  private final byte[] buffer = new byte[CHUNK];
  private final ClientCallStreamObserver<WriteRequest> call;
  private int buffered;
  private boolean closed;
  // Guarded by lock: how the call ended, once it did.
  private boolean done;
  private Throwable failure;

  RemoteOutputStream(
      String path,
      WriteOpen open,
      Function<StreamObserver<WriteReply>, StreamObserver<WriteRequest>> start) {
    this.path = path;
    Observer observer = new Observer();
    start.apply(observer);
    this.call = observer.requests;
    call.onNext(WriteRequest.newBuilder().setOpen(open).build());
  }

  private final class Observer implements ClientResponseObserver<WriteRequest, WriteReply> {
    private ClientCallStreamObserver<WriteRequest> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<WriteRequest> requestStream) {
      requests = requestStream;
      requestStream.setOnReadyHandler(
          () -> {
            synchronized (lock) {
              lock.notifyAll();
            }
          });
    }

    @Override
    public void onNext(WriteReply reply) {
      // The byte count is what was sent; nothing to keep.
    }

    @Override
    public void onError(Throwable t) {
      finish(t);
    }

    @Override
    public void onCompleted() {
      finish(null);
    }

    private void finish(Throwable t) {
      synchronized (lock) {
        done = true;
        failure = t;
        lock.notifyAll();
      }
    }
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] data, int offset, int length) throws IOException {
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    if (closed) {
      throw new IOException("stream closed: " + path);
    }
    while (length > 0) {
      int n = Math.min(length, CHUNK - buffered);
      System.arraycopy(data, offset, buffer, buffered, n);
      buffered += n;
      offset += n;
      length -= n;
      if (buffered == CHUNK) {
        sendBuffer();
      }
    }
  }

  /** Sends what is buffered; it is on disk once {@link #close} returns. */
  @Override
  public void flush() throws IOException {
    if (!closed && buffered > 0) {
      sendBuffer();
    }
  }

  private void sendBuffer() throws IOException {
    synchronized (lock) {
      try {
        while (!done && !call.isReady()) {
          // The ready handler wakes this; the timeout only guards against a lost wake-up.
          lock.wait(100);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        call.cancel("writer interrupted", e);
        throw new InterruptedIOException("interrupted writing " + path);
      }
      if (done) {
        throw failure == null
            ? new IOException("write of " + path + " ended early")
            : FileErrors.toIo(path, failure);
      }
    }
    call.onNext(
        WriteRequest.newBuilder().setData(ByteString.copyFrom(buffer, 0, buffered)).build());
    buffered = 0;
  }

  /** Sends the rest, waits until the agent wrote it all, and throws what went wrong. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    try {
      flush();
      call.onCompleted();
      synchronized (lock) {
        while (!done) {
          lock.wait();
        }
        if (failure != null) {
          throw FileErrors.toIo(path, failure);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel("writer interrupted", e);
      throw new InterruptedIOException("interrupted closing " + path);
    } finally {
      closed = true;
    }
  }
}
