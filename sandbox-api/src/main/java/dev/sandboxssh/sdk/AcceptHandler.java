package dev.sandboxssh.sdk;

/**
 * Receives the connections of a {@link TunnelListener}. Calls run one at a time on an SDK thread;
 * the next connection is announced once {@link #onAccept} returns.
 */
@FunctionalInterface
public interface AcceptHandler {
  /**
   * A connection arrived; take it with {@link IncomingConnection#accept} or refuse it with {@link
   * IncomingConnection#reject}. One left alone is closed by the agent after 30 s.
   */
  void onAccept(IncomingConnection connection);

  /**
   * The listener ended: null after {@link TunnelListener#close}, else why (a {@link
   * SandboxUnavailableException} when the agent went away).
   */
  default void onClosed(Throwable error) {}
}
