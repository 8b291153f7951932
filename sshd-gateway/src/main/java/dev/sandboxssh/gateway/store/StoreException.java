package dev.sandboxssh.gateway.store;

/** A store operation refused (bad input, conflict, missing row) or failed (I/O). */
public class StoreException extends RuntimeException {

  /** Why; the CLI turns every reason but {@link #IO} into exit status 2. */
  public enum Reason {
    INVALID,
    CONFLICT,
    NOT_FOUND,
    IO
  }

  private final Reason reason;

  /** A refusal or failure with a one-line message for users. */
  public StoreException(Reason reason, String message) {
    this(reason, message, null);
  }

  /** A refusal or failure caused by {@code cause}. */
  public StoreException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** Why it was refused. */
  public Reason reason() {
    return reason;
  }
}
