package dev.sandboxssh.gateway.events;

import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * What the gateway tells its operators as it runs: the one interface through which the SSH server,
 * the bridges and the providers report, so that none of them depends on how it is recorded
 * (Prometheus metrics and the JSON audit log, both in the {@code ops} package, wired by the app).
 *
 * <p>Every method has an empty default, and calls come from MINA's I/O threads and the bridges'
 * threads alike: implementations must be thread-safe, cheap and never block (the byte counters sit
 * on the data path).
 */
public interface GatewayEvents {
  /** Records nothing: for tests and tools that wire parts of a gateway without operations. */
  GatewayEvents NONE = new GatewayEvents() {};

  /**
   * Who did something, as far as known: before a successful login only the connection's fields.
   *
   * @param session the connection's id, in every audit line of that connection
   * @param user the SSH user name as sent ({@code web}, {@code web+work}, {@code alice})
   * @param owner the owner whose key logged in; null before login
   * @param sandbox the sandbox reached; null for an owner's own login or before login
   * @param key the SHA-256 fingerprint of the key ({@code cert:} and the certified key's for a
   *     certificate); null when none was offered
   * @param source the client's address and port
   */
  record Who(
      String session, String user, String owner, String sandbox, String key, String source) {}

  /** A TCP connection was accepted past the pre-authentication defences. */
  default void connectionOpened() {}

  /** A connection that {@link #connectionOpened} reported ended. */
  default void connectionClosed() {}

  /**
   * A connection was closed as it was accepted, before a key exchange.
   *
   * @param reason {@code source-penalty}, {@code max-startups}, or {@code draining} (the gateway is
   *     stopping)
   * @param source the client's address and port
   */
  default void connectionRefused(String reason, String source) {}

  /** A login succeeded with the SSH client {@code client} (its version string). */
  default void loginSucceeded(Who who, String client) {}

  /**
   * A connection tried to log in and never did, for {@code reason}: a {@code LoginFailure} label of
   * its last refused key, {@code too-many-connections}, or {@code abandoned} when it gave up before
   * any refusal (a key accepted in principle but never signed with).
   */
  default void loginRefused(Who who, String reason) {}

  /** A logged-in connection ended after {@code duration}, having moved these payload bytes. */
  default void loggedOut(Who who, Duration duration, long bytesIn, long bytesOut) {}

  /**
   * A session channel started its work.
   *
   * @param kind {@code shell}, {@code exec}, {@code scp}, {@code sftp} or another subsystem's name
   * @param command the command line of {@code exec} and {@code scp}; null for the others
   * @param pty whether the client asked for a terminal
   */
  default void sessionStarted(Who who, String kind, String command, boolean pty) {}

  /**
   * A session channel ended.
   *
   * @param exit its exit status ({@code 0}, {@code 255}), a signal name ({@code TERM}), or null
   *     when the channel closed without one (the client went away)
   */
  default void sessionEnded(Who who, String kind, String exit, Duration duration) {}

  /**
   * A forward was opened: {@code direct-tcpip} (-L, -D) or {@code direct-streamlocal@openssh.com}
   * to {@code target}, {@code tcpip-forward} (-R) or {@code streamlocal-forward@openssh.com}
   * listening at {@code target}, or {@code auth-agent-req} (-A, no target).
   */
  default void forwardOpened(Who who, String kind, String target) {}

  /**
   * A file operation of SFTP or scp ended.
   *
   * @param protocol {@code sftp} or {@code scp}
   * @param op {@code read} or {@code write} (a file opened for it, with the bytes moved until it
   *     was closed), {@code open} (an open that failed), {@code remove}, {@code rmdir}, {@code
   *     mkdir}, {@code rename}, {@code link}, {@code symlink} or {@code setstat}
   * @param path the absolute path in the sandbox
   * @param to the new path of a rename, the existing file a link points to; else null
   * @param bytes bytes read or written; 0 for the others
   * @param result {@code ok}, or the error's description
   */
  default void fileOperation(
      Who who, String protocol, String op, String path, String to, long bytes, String result) {}

  /** {@code n} payload bytes went from a client into a sandbox (input, uploads, forwards). */
  default void bytesIn(long n) {}

  /** {@code n} payload bytes went from a sandbox out to a client. */
  default void bytesOut(long n) {}

  /**
   * A session asked {@code provider} for its sandbox's agent, and had it (or its failure) after
   * {@code took}: the agent's start included when it was not running.
   */
  default void agentConnected(String provider, Duration took, boolean reached) {}

  /** A local agent was started and answered after {@code took}. */
  default void agentStarted(Duration took) {}

  /** Reports how many agents of {@code provider} run now, read whenever metrics are collected. */
  default void watchRunningAgents(String provider, IntSupplier running) {}
}
