package dev.sandboxssh.sdk.envd;

import dev.sandboxssh.api.v1.ListenEvent;
import dev.sandboxssh.api.v1.ListenRequest;
import dev.sandboxssh.api.v1.NetworkServiceGrpc;
import dev.sandboxssh.api.v1.TunnelFrame;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

/**
 * The agent's NetworkService for a sandbox behind envd, which has no tunnels: every dial and listen
 * is refused as denied (network.proto's {@code dial-error: denied}), so that a port forward fails
 * alone, with this reason, and the SSH connection goes on.
 */
final class EnvdNetworkService extends NetworkServiceGrpc.NetworkServiceImplBase {
  static final String REASON = "forwarding is not available: envd has no tunnels";

  private static final Metadata.Key<String> DIAL_ERROR =
      Metadata.Key.of("dial-error", Metadata.ASCII_STRING_MARSHALLER);

  private static StatusRuntimeException denied() {
    Metadata trailers = new Metadata();
    trailers.put(DIAL_ERROR, "denied");
    return Status.PERMISSION_DENIED.withDescription(REASON).asRuntimeException(trailers);
  }

  @Override
  public StreamObserver<TunnelFrame> dial(StreamObserver<TunnelFrame> observer) {
    observer.onError(denied());
    return ignoring();
  }

  @Override
  public void listen(ListenRequest request, StreamObserver<ListenEvent> observer) {
    observer.onError(denied());
  }

  @Override
  public StreamObserver<TunnelFrame> accept(StreamObserver<TunnelFrame> observer) {
    observer.onError(denied());
    return ignoring();
  }

  private static StreamObserver<TunnelFrame> ignoring() {
    return new StreamObserver<>() {
      @Override
      public void onNext(TunnelFrame frame) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }
}
