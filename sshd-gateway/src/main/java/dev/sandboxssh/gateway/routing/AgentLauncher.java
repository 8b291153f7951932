package dev.sandboxssh.gateway.routing;

import java.io.IOException;

/**
 * Starts the agent process of a local sandbox, isolated as configured. Launched agents exit on
 * their own once the gateway is gone ({@code --exit-with-stdin}: the gateway holds their stdin
 * open), so a gateway killed with SIGKILL leaves no orphans.
 */
public interface AgentLauncher extends AutoCloseable {

  /** Starts the agent; it prints {@code listening ...} on stdout once it serves. */
  Process launch(LocalAgentSpec spec) throws IOException;

  /**
   * Called once the agent listens, before the first call reaches it: the moment to give its
   * namespace what it could not have at launch (a network stack).
   */
  default void listening(LocalAgentSpec spec, Process agent) throws IOException {}

  /** Called after the agent of {@code spec} exited or was stopped: frees what launch took. */
  default void stopped(LocalAgentSpec spec) {}

  /** Whether agents run confined to their sandbox (namespaces), not merely path-checked. */
  boolean confined();

  /** A short description for the start-up log. */
  String describe();

  /** Frees what the launcher holds for all sandboxes; agents are stopped before. */
  @Override
  default void close() {}
}
