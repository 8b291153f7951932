package dev.sandboxssh.sdk;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.Connected;
import dev.sandboxssh.api.v1.TunnelFrame;
import dev.sandboxssh.concurrent.SerialExecutor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A Dial or Accept stream as a {@link Tunnel}. Inbound flow control is manual: one frame is
 * requested at a time, and the next only once the handler has returned from the previous one, so a
 * slow handler slows its peer down instead of filling memory. Outbound, {@link #write} blocks while
 * gRPC says the agent is not ready.
 */
final class GrpcTunnel implements Tunnel, ClientResponseObserver<TunnelFrame, TunnelFrame> {
  /** Bytes per data frame, as the agent sends them. */
  static final int CHUNK = 64 * 1024;

  /** After {@link #close}, how long the agent gets to flush and close before the call is cut. */
  static final Duration CLOSE_GRACE = Duration.ofSeconds(10);

  private final String target;
  private final TunnelHandler handler;
  private final Executor callbacks;
  private final ScheduledExecutorService timer;
  private final CompletableFuture<Connected> connected = new CompletableFuture<>();
  private final Object lock = new Object();
  private ClientCallStreamObserver<TunnelFrame> call;
  private volatile SocketAddress local;
  private volatile SocketAddress remote;
  // The agent handed the socket over: the stream's end is no news for the handler.
  private volatile boolean handedOff;
  // Guarded by lock.
  private boolean outputShut;
  private boolean closing;
  private boolean ended;

  private GrpcTunnel(
      String target, TunnelHandler handler, Executor pool, ScheduledExecutorService timer) {
    this.target = target;
    this.handler = handler;
    this.callbacks = new SerialExecutor(pool);
    this.timer = timer;
  }

  /**
   * Starts a stream with {@code start}, sends {@code first} and waits until the agent reports the
   * socket connected; a socket the agent handed over goes to {@code taker} instead, and this
   * stream, which the agent ends, delivers nothing.
   */
  static Tunnel open(
      String target,
      TunnelFrame first,
      Duration timeout,
      TunnelHandler handler,
      Executor pool,
      ScheduledExecutorService timer,
      Function<StreamObserver<TunnelFrame>, StreamObserver<TunnelFrame>> start,
      SocketTaker taker)
      throws IOException {
    GrpcTunnel tunnel = new GrpcTunnel(target, handler, pool, timer);
    start.apply(tunnel);
    synchronized (tunnel.lock) {
      tunnel.call.onNext(first);
    }
    String handOff = tunnel.awaitConnected(timeout);
    if (handOff.isEmpty()) {
      return tunnel;
    }
    if (taker == null) {
      tunnel.call.cancel("a socket was handed over that nobody takes", null);
      throw new IOException("the agent handed over " + target + " unasked");
    }
    return taker.take(handOff, tunnel.local, tunnel.remote, handler);
  }

  /** Waits for {@code connected}; returns its hand-off name (empty when the agent relays). */
  private String awaitConnected(Duration timeout) throws IOException {
    Connected c;
    try {
      c = connected.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel("caller interrupted", e);
      throw new InterruptedIOException("interrupted connecting to " + target);
    } catch (TimeoutException e) {
      call.cancel("connect timed out", null);
      throw new SocketTimeoutException("no answer from the agent connecting to " + target);
    } catch (ExecutionException e) {
      throw NetErrors.toIo(target, e.getCause());
    }
    local = Network.toJava(c.getLocal());
    remote = Network.toJava(c.getRemote());
    return c.getHandOff();
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<TunnelFrame> requestStream) {
    call = requestStream;
    requestStream.disableAutoRequestWithInitial(1);
    requestStream.setOnReadyHandler(
        () -> {
          synchronized (lock) {
            lock.notifyAll();
          }
        });
  }

  @Override
  public void onNext(TunnelFrame frame) {
    switch (frame.getFrameCase()) {
      case CONNECTED -> {
        handedOff = !frame.getConnected().getHandOff().isEmpty();
        connected.complete(frame.getConnected());
        call.request(1);
      }
      case DATA -> {
        byte[] data = frame.getData().toByteArray();
        callbacks.execute(
            () -> {
              if (!isClosing()) {
                deliver(() -> handler.onData(data));
              }
              call.request(1);
            });
      }
      case EOF -> {
        callbacks.execute(() -> deliver(handler::onEof));
        call.request(1);
      }
      default -> call.cancel("unexpected frame from the agent: " + frame.getFrameCase(), null);
    }
  }

  /** Runs a handler callback; a handler that throws ends its tunnel, not the SDK's thread. */
  private void deliver(Runnable callback) {
    try {
      callback.run();
    } catch (RuntimeException e) {
      call.cancel("tunnel handler failed", e);
    }
  }

  @Override
  public void onError(Throwable t) {
    boolean closedHere = markEnded();
    if (!connected.isDone()) {
      connected.completeExceptionally(t);
      return;
    }
    if (handedOff) {
      return;
    }
    Throwable reason =
        closedHere && Status.fromThrowable(t).getCode() == Status.Code.CANCELLED
            ? null
            : NetErrors.convert(target, t);
    callbacks.execute(() -> handler.onClose(reason));
  }

  @Override
  public void onCompleted() {
    markEnded();
    if (!connected.isDone()) {
      connected.completeExceptionally(
          Status.INTERNAL
              .withDescription("agent ended the tunnel before connecting")
              .asException());
      return;
    }
    if (handedOff) {
      return;
    }
    callbacks.execute(() -> handler.onClose(null));
  }

  /** Marks the call over and wakes writers; true when this side had asked to close. */
  private boolean markEnded() {
    synchronized (lock) {
      ended = true;
      lock.notifyAll();
      return closing;
    }
  }

  private boolean isClosing() {
    synchronized (lock) {
      return closing;
    }
  }

  @Override
  public void write(byte[] data, int offset, int length) throws IOException {
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    while (length > 0) {
      int n = Math.min(length, CHUNK);
      synchronized (lock) {
        try {
          while (!ended && !closing && !outputShut && !call.isReady()) {
            // The ready handler wakes this; the timeout only guards against a lost wake-up.
            lock.wait(1000);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted writing to " + target);
        }
        if (ended || closing || outputShut) {
          throw new IOException("tunnel to " + target + " is closed for writing");
        }
        call.onNext(TunnelFrame.newBuilder().setData(ByteString.copyFrom(data, offset, n)).build());
      }
      offset += n;
      length -= n;
    }
  }

  @Override
  public void shutdownOutput() {
    synchronized (lock) {
      if (outputShut || closing || ended) {
        return;
      }
      outputShut = true;
      call.onNext(TunnelFrame.newBuilder().setEof(true).build());
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      if (closing || ended) {
        return;
      }
      closing = true;
      lock.notifyAll();
      // Half-closing the stream asks the agent to flush and close the socket.
      call.onCompleted();
    }
    // A peer that never reads could keep the agent's last write blocked: cut the call then.
    timer.schedule(this::cutIfOpen, CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void cutIfOpen() {
    synchronized (lock) {
      if (ended) {
        return;
      }
    }
    call.cancel("tunnel closed and the agent did not finish in " + CLOSE_GRACE, null);
  }

  @Override
  public SocketAddress localAddress() {
    return local;
  }

  @Override
  public SocketAddress remoteAddress() {
    return remote;
  }

  @Override
  public String toString() {
    return "Tunnel[" + target + "]";
  }
}
