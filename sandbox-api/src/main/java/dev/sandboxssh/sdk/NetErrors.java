package dev.sandboxssh.sdk;

import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;

/**
 * Turns failed network calls into {@code java.net} exceptions, so that the gateway can answer SSH
 * with the matching open-failure reason.
 */
final class NetErrors {
  /** Trailer in which the agent says why a dial failed (see network.proto). */
  static final Metadata.Key<String> DIAL_ERROR =
      Metadata.Key.of("dial-error", Metadata.ASCII_STRING_MARSHALLER);

  private NetErrors() {}

  /**
   * The exception for {@code failure} of a call about {@code target}: an IOException when the
   * socket side failed, else an unchecked one ({@link SandboxException} when the agent did,
   * IllegalArgumentException for a malformed request).
   */
  static Exception convert(String target, Throwable failure) {
    Status status = Status.fromThrowable(failure);
    String message =
        status.getDescription() != null
            ? status.getDescription()
            : status.getCode() + " (" + target + ")";
    Metadata trailers = Status.trailersFromThrowable(failure);
    String kind = trailers == null ? null : trailers.get(DIAL_ERROR);
    if (kind != null) {
      return switch (kind) {
        case "timeout" -> new SocketTimeoutException(message);
        case "unknown-host" -> new UnknownHostException(message);
        case "unreachable" -> new NoRouteToHostException(message);
        case "denied" -> new AccessDeniedException(target, null, message);
        default -> new ConnectException(message);
      };
    }
    return switch (status.getCode()) {
      case ALREADY_EXISTS -> new BindException(message);
      case PERMISSION_DENIED -> new AccessDeniedException(target, null, message);
      case NOT_FOUND -> new IOException(message);
      case ABORTED -> new SocketException(message);
      case INVALID_ARGUMENT -> new IllegalArgumentException(message, failure);
      default -> SandboxException.from(failure);
    };
  }

  /** As {@link #convert}, throwing the unchecked kinds and returning the IOException. */
  static IOException toIo(String target, Throwable failure) {
    Exception e = convert(target, failure);
    if (e instanceof IOException io) {
      return io;
    }
    throw (RuntimeException) e;
  }
}
