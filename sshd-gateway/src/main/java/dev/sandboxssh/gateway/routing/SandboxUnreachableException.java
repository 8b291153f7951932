package dev.sandboxssh.gateway.routing;

/**
 * A sandbox whose agent cannot be reached. The message is the one line users see on stderr before
 * the session ends with status 255, e.g. {@code sandbox demo is not running} or {@code sandbox
 * demo: agent did not answer in 10 s}.
 */
public final class SandboxUnreachableException extends Exception {
  /** A failure with the user-facing line {@code message}. */
  public SandboxUnreachableException(String message, Throwable cause) {
    super(message, cause);
  }
}
