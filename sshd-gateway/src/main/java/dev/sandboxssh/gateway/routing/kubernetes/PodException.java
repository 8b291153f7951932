package dev.sandboxssh.gateway.routing.kubernetes;

/**
 * Why a sandbox's pod cannot be used, created or deleted. The message is one line without the
 * sandbox's name, e.g. {@code its pod sandbox-demo is Pending}.
 */
public final class PodException extends Exception {

  /** What kind of failure it is. */
  public enum Kind {
    /** The pod is missing, not Running, has no IP, or its agent's container is waiting. */
    NOT_RUNNING,
    /** The pod or its Secret is not what the gateway accepts (several pods, a foreign Secret). */
    REFUSED,
    /** A pod or Secret of that name already exists. */
    CONFLICT,
    /** The Kubernetes API could not be reached or refused the request. */
    API
  }

  private final Kind kind;

  /** A failure of {@code kind} with the one-line {@code message}. */
  public PodException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  /** What kind of failure it is. */
  public Kind kind() {
    return kind;
  }
}
