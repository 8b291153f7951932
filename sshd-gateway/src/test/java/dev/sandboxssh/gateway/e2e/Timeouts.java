package dev.sandboxssh.gateway.e2e;

import java.time.Duration;

/** Timeouts shared by the end-to-end tests; generous, since CI machines have two cores. */
public final class Timeouts {
  /** One ssh command that should finish promptly (includes starting an agent JVM). */
  public static final Duration COMMAND = Duration.ofSeconds(60);

  /** A transfer of tens of MiB. */
  public static final Duration TRANSFER = Duration.ofMinutes(3);

  /** Waiting for something to happen asynchronously (a process to die, a file to appear). */
  public static final Duration EVENTUALLY = Duration.ofSeconds(30);

  /** The gateway's agent connect timeout in tests that provoke it. */
  public static final Duration AGENT_CONNECT = Duration.ofSeconds(3);

  private Timeouts() {}
}
