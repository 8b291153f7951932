package dev.sandboxssh.sdk;

import io.grpc.Status;

/** An agent call that failed; {@link #code()} says how, in the agent API's terms. */
public class SandboxException extends RuntimeException {

  /** Why a call failed, mirroring the gRPC status codes the agent answers with. */
  public enum Code {
    NOT_FOUND,
    ALREADY_EXISTS,
    PERMISSION_DENIED,
    INVALID_ARGUMENT,
    FAILED_PRECONDITION,
    RESOURCE_EXHAUSTED,
    UNAUTHENTICATED,
    UNAVAILABLE,
    DEADLINE_EXCEEDED,
    CANCELLED,
    UNIMPLEMENTED,
    INTERNAL
  }

  private final Code code;

  /** A failure of the given kind. */
  public SandboxException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** How the call failed. */
  public Code code() {
    return code;
  }

  /** Translates a gRPC failure; unreachable agents become {@link SandboxUnavailableException}. */
  static SandboxException from(Throwable t) {
    if (t instanceof SandboxException e) {
      return e;
    }
    Status status = Status.fromThrowable(t);
    String message =
        status.getDescription() != null ? status.getDescription() : status.getCode().toString();
    return switch (status.getCode()) {
      case UNAVAILABLE -> new SandboxUnavailableException(Code.UNAVAILABLE, message, t);
      case DEADLINE_EXCEEDED -> new SandboxUnavailableException(Code.DEADLINE_EXCEEDED, message, t);
      case NOT_FOUND -> new SandboxException(Code.NOT_FOUND, message, t);
      case ALREADY_EXISTS -> new SandboxException(Code.ALREADY_EXISTS, message, t);
      case PERMISSION_DENIED -> new SandboxException(Code.PERMISSION_DENIED, message, t);
      case INVALID_ARGUMENT, OUT_OF_RANGE ->
          new SandboxException(Code.INVALID_ARGUMENT, message, t);
      case FAILED_PRECONDITION -> new SandboxException(Code.FAILED_PRECONDITION, message, t);
      case RESOURCE_EXHAUSTED -> new SandboxException(Code.RESOURCE_EXHAUSTED, message, t);
      case UNAUTHENTICATED -> new SandboxException(Code.UNAUTHENTICATED, message, t);
      // A reset from the server side is an agent going away (its shutdown cancels open calls);
      // the SDK's own cancellations carry the reason it gave instead.
      case CANCELLED ->
          message.startsWith("RST_STREAM")
              ? new SandboxUnavailableException(
                  Code.UNAVAILABLE, "agent reset the call: " + message, t)
              : new SandboxException(Code.CANCELLED, message, t);
      case UNIMPLEMENTED -> new SandboxException(Code.UNIMPLEMENTED, message, t);
      default -> new SandboxException(Code.INTERNAL, message, t);
    };
  }
}
