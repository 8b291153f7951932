package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import org.apache.sshd.common.session.Session;

/**
 * What forwarding needs of an SSH connection's sandbox: the agent to relay through, and where to
 * account what it relayed. Implemented over the connection's session context by the server wiring;
 * tests implement it over an agent of their own.
 */
public interface SessionSandbox {
  /** Finds the sandbox of an authenticated SSH session. */
  @FunctionalInterface
  interface Lookup {
    /** The sandbox of {@code session}. */
    SessionSandbox of(Session session);
  }

  /** The sandbox id, for log lines. */
  String sandboxId();

  /**
   * The SDK client of the sandbox's agent, reaching it first when needed. Blocks; never call it on
   * MINA's I/O threads.
   *
   * @throws IOException when the sandbox cannot be reached; its message is fit for the user
   */
  Sandbox sandbox() throws IOException;

  /** Records that a channel or request of {@code kind} was opened, for the session's log line. */
  default void recordChannel(String kind) {}

  /**
   * Records that a forward of {@code kind} was opened to or at {@code target} (null for agent
   * forwarding), for the session's log line and the audit log.
   */
  default void forwardOpened(String kind, String target) {
    recordChannel(kind);
  }

  /** Counts bytes relayed from the client into the sandbox. */
  default void addBytesIn(long n) {}

  /** Counts bytes relayed from the sandbox out to the client. */
  default void addBytesOut(long n) {}
}
