package dev.sandboxssh.gateway.routing;

import java.io.IOException;

/**
 * Starts the agent process of a local sandbox: directly, or inside a bubblewrap namespace. Launched
 * agents exit on their own once the gateway is gone ({@code --exit-with-stdin}: the gateway holds
 * their stdin open), so a gateway killed with SIGKILL leaves no orphans.
 */
public interface AgentLauncher {

  /** Starts the agent; it prints {@code listening ...} on stdout once it serves. */
  Process launch(LocalAgentSpec spec) throws IOException;

  /** Whether agents run confined to their sandbox (namespaces), not merely path-checked. */
  boolean confined();

  /** A short description for the start-up log. */
  String describe();
}
