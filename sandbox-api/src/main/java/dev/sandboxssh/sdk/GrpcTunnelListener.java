package dev.sandboxssh.sdk;

import dev.sandboxssh.api.v1.ListenEvent;
import dev.sandboxssh.api.v1.ListenRequest;
import dev.sandboxssh.concurrent.SerialExecutor;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * A Listen stream as a {@link TunnelListener}. Events are requested one at a time, the next once
 * the handler returned, so a slow handler leaves connections in the agent's backlog rather than
 * queued here.
 */
final class GrpcTunnelListener
    implements TunnelListener, ClientResponseObserver<ListenRequest, ListenEvent> {
  /** Takes an accepted connection by its id. */
  interface Taker {
    /** Opens an Accept stream for connection {@code id}. */
    Tunnel take(String id, SocketAddress remote, TunnelHandler handler) throws IOException;
  }

  private final String where;
  private final AcceptHandler handler;
  private final Taker taker;
  private final Executor callbacks;
  private final CompletableFuture<SocketAddress> bound = new CompletableFuture<>();
  private volatile ClientCallStreamObserver<ListenRequest> call;
  private volatile boolean closedHere;

  GrpcTunnelListener(String where, AcceptHandler handler, Taker taker, Executor pool) {
    this.where = where;
    this.handler = handler;
    this.taker = taker;
    this.callbacks = new SerialExecutor(pool);
  }

  /** Waits until the agent reports the socket bound; failures to bind are thrown here. */
  void awaitBound() throws IOException {
    try {
      bound.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel("caller interrupted", e);
      throw new InterruptedIOException("interrupted listening on " + where);
    } catch (ExecutionException e) {
      throw NetErrors.toIo(where, e.getCause());
    }
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ListenRequest> requestStream) {
    call = requestStream;
    requestStream.disableAutoRequestWithInitial(1);
  }

  @Override
  public void onNext(ListenEvent event) {
    if (event.hasListening()) {
      bound.complete(Network.toJava(event.getListening()));
      call.request(1);
      return;
    }
    String id = event.getAccepted().getConnectionId();
    SocketAddress remote = Network.toJava(event.getAccepted().getRemote());
    callbacks.execute(
        () -> {
          try {
            handler.onAccept(new Incoming(id, remote));
          } catch (RuntimeException e) {
            // A failing handler loses this connection (closed after 30 s), not the listener.
          } finally {
            call.request(1);
          }
        });
  }

  @Override
  public void onError(Throwable t) {
    if (!bound.isDone()) {
      bound.completeExceptionally(t);
      return;
    }
    Throwable reason = closedHere ? null : NetErrors.convert(where, t);
    callbacks.execute(() -> handler.onClosed(reason));
  }

  @Override
  public void onCompleted() {
    if (!bound.isDone()) {
      bound.completeExceptionally(new IOException("agent ended the listener before binding"));
      return;
    }
    callbacks.execute(() -> handler.onClosed(null));
  }

  @Override
  public int port() {
    return bound.join() instanceof InetSocketAddress inet ? inet.getPort() : -1;
  }

  @Override
  public SocketAddress address() {
    return bound.join();
  }

  @Override
  public void close() {
    closedHere = true;
    call.cancel("listener closed", null);
  }

  @Override
  public String toString() {
    return "TunnelListener[" + where + "]";
  }

  /** One announced connection. */
  private final class Incoming implements IncomingConnection {
    private final String id;
    private final SocketAddress remote;

    Incoming(String id, SocketAddress remote) {
      this.id = id;
      this.remote = remote;
    }

    @Override
    public SocketAddress remoteAddress() {
      return remote;
    }

    @Override
    public Tunnel accept(TunnelHandler tunnelHandler) throws IOException {
      return taker.take(id, remote, tunnelHandler);
    }

    @Override
    public void reject() {
      try {
        // Taking it and closing at once is the only way to close it before its 30 s are up.
        taker.take(id, remote, data -> {}).close();
      } catch (IOException | RuntimeException e) {
        // Already gone: rejected either way.
      }
    }
  }
}
