package dev.sandboxssh.agent.net;

import com.google.protobuf.ByteString;
import dev.sandboxssh.agent.process.HandOffs;
import dev.sandboxssh.agent.process.JdkDescriptors;
import dev.sandboxssh.api.v1.Connected;
import dev.sandboxssh.api.v1.TunnelFrame;
import dev.sandboxssh.concurrent.SerialExecutor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executor;

/**
 * Relays one socket over one Dial or Accept stream (see network.proto).
 *
 * <p>Flow control both ways, so that neither a slow socket peer nor a slow client makes the agent
 * buffer: the reader thread reads the socket only while the gRPC stream is ready (at most one 64
 * KiB chunk in hand), and the next client message is requested only after the previous one was
 * written to the socket, so a peer that does not read holds the client back through HTTP/2. Socket
 * writes run on a per-tunnel serial executor, never on gRPC's threads, so that the stream's ready
 * and cancel notifications always get through.
 */
final class SocketRelay implements StreamObserver<TunnelFrame> {
  /** Largest data frame sent, as the proto promises. */
  static final int CHUNK = 64 * 1024;

  /** Opens the socket that the first client frame asks for. */
  interface Opener {
    /**
     * Connects or takes the socket.
     *
     * @throws StatusRuntimeException with the status to fail the stream with
     */
    SocketChannel open(TunnelFrame first);
  }

  private final ServerCallStreamObserver<TunnelFrame> out;
  private final Opener opener;
  private final Executor pool;
  private final HandOffs handOffs;
  private final SerialExecutor writes;
  private final Object lock = new Object();
  private volatile SocketChannel socket;
  private boolean started;
  // Guarded by lock.
  private boolean finished;
  private boolean inboundDone;
  private boolean outboundDone;

  /**
   * Must be made inside the rpc method: it turns off automatic message requests.
   *
   * @param handOffs where sockets go that the caller takes itself; null when none can
   */
  SocketRelay(
      StreamObserver<TunnelFrame> responseObserver,
      Opener opener,
      Executor pool,
      HandOffs handOffs) {
    this.out = (ServerCallStreamObserver<TunnelFrame>) responseObserver;
    this.opener = opener;
    this.pool = pool;
    this.handOffs = handOffs;
    this.writes = new SerialExecutor(pool);
    out.disableAutoRequest();
    out.setOnReadyHandler(this::wakeReader);
    // gRPC's default (32 KiB) is below one 64 KiB chunk: every chunk would wait for the last
    // to reach the socket. A few chunks of slack keep the pipe full, still bounded per tunnel.
    out.setOnReadyThreshold(256 * 1024);
    out.setOnCancelHandler(this::abort);
    out.request(1);
  }

  @Override
  public void onNext(TunnelFrame frame) {
    if (!started) {
      started = true;
      // Connecting may take the whole dial timeout: not on a gRPC thread.
      pool.execute(() -> connect(frame));
      return;
    }
    switch (frame.getFrameCase()) {
      case DATA -> writes.execute(() -> write(frame.getData()));
      case EOF -> writes.execute(this::shutdownOutput);
      default ->
          finish(
              Status.INVALID_ARGUMENT.withDescription(
                  "after the first frame only data and eof may follow, got "
                      + frame.getFrameCase()));
    }
  }

  private void connect(TunnelFrame first) {
    SocketChannel channel;
    try {
      channel = opener.open(first);
    } catch (StatusRuntimeException e) {
      finish(e.getStatus(), e.getTrailers());
      return;
    }
    socket = channel;
    String handOff = first.getHandOff() ? handOff(channel) : "";
    synchronized (lock) {
      if (finished) {
        // Cancelled while connecting: the socket has nobody to talk to.
        closeSocket();
        return;
      }
      try {
        out.onNext(
            TunnelFrame.newBuilder()
                .setConnected(
                    Connected.newBuilder()
                        .setLocal(Addresses.toProto(channel.getLocalAddress()))
                        .setRemote(Addresses.toProto(channel.getRemoteAddress()))
                        .setHandOff(handOff))
                .build());
      } catch (IOException e) {
        finishLocked(Status.UNAVAILABLE.withDescription("socket closed at once: " + e), null);
        return;
      }
      if (!handOff.isEmpty()) {
        // The caller has the socket now. Closing the agent's descriptor sends the peer nothing:
        // no thread is inside a call on the channel, so the JDK closes without a shutdown.
        finishLocked(Status.OK, null);
        return;
      }
    }
    pool.execute(this::readLoop);
    requestNext();
  }

  /** Offers a copy of the socket's descriptor; empty when it cannot be had (then it is relayed). */
  private String handOff(SocketChannel channel) {
    int fd = handOffs == null ? -1 : JdkDescriptors.of(channel);
    if (fd < 0) {
      return "";
    }
    try {
      return handOffs.offerCopyOf(fd);
    } catch (IOException e) {
      return "";
    }
  }

  /** Asks gRPC for the next client frame, unless the stream is over. */
  private void requestNext() {
    synchronized (lock) {
      if (!finished) {
        out.request(1);
      }
    }
  }

  private void write(ByteString data) {
    try {
      ByteBuffer buffer = data.asReadOnlyByteBuffer();
      while (buffer.hasRemaining()) {
        socket.write(buffer);
      }
      requestNext();
    } catch (IOException e) {
      finish(Status.ABORTED.withDescription("writing to the socket failed: " + e.getMessage()));
    }
  }

  private void shutdownOutput() {
    try {
      socket.shutdownOutput();
    } catch (IOException e) {
      finish(Status.ABORTED.withDescription("half-closing the socket failed: " + e.getMessage()));
      return;
    }
    synchronized (lock) {
      inboundDone = true;
      if (outboundDone) {
        finishLocked(Status.OK, null);
      }
    }
    requestNext();
  }

  private void readLoop() {
    ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
    try {
      while (true) {
        synchronized (lock) {
          while (!finished && !out.isReady()) {
            // The ready handler wakes this; the timeout only guards against a lost wake-up.
            lock.wait(1000);
          }
          if (finished) {
            return;
          }
        }
        buffer.clear();
        int n = socket.read(buffer);
        synchronized (lock) {
          if (finished) {
            return;
          }
          if (n < 0) {
            out.onNext(TunnelFrame.newBuilder().setEof(true).build());
            outboundDone = true;
            if (inboundDone) {
              finishLocked(Status.OK, null);
            }
            return;
          }
          out.onNext(
              TunnelFrame.newBuilder().setData(ByteString.copyFrom(buffer.array(), 0, n)).build());
        }
      }
    } catch (IOException e) {
      finish(Status.ABORTED.withDescription("reading the socket failed: " + e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      finish(Status.ABORTED.withDescription("agent shutting down"));
    }
  }

  private void wakeReader() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  /** The client closed its side of the stream: write what came before, then close the socket. */
  @Override
  public void onCompleted() {
    if (!started) {
      finish(Status.INVALID_ARGUMENT.withDescription("the stream ended before its first frame"));
      return;
    }
    writes.execute(() -> finish(Status.OK));
  }

  /** The client cancelled or went away. */
  @Override
  public void onError(Throwable t) {
    abort();
  }

  private void abort() {
    synchronized (lock) {
      finished = true;
      lock.notifyAll();
    }
    closeSocket();
  }

  private void finish(Status status) {
    finish(status, null);
  }

  private void finish(Status status, io.grpc.Metadata trailers) {
    synchronized (lock) {
      finishLocked(status, trailers);
    }
  }

  private void finishLocked(Status status, io.grpc.Metadata trailers) {
    if (finished) {
      return;
    }
    finished = true;
    lock.notifyAll();
    closeSocket();
    if (status.isOk()) {
      out.onCompleted();
    } else {
      out.onError(status.asRuntimeException(trailers));
    }
  }

  private void closeSocket() {
    SocketChannel s = socket;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        // Closing is all that was wanted; the descriptor is released either way.
      }
    }
  }
}
