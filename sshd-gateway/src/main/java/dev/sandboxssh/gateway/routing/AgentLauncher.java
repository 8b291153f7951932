package dev.sandboxssh.gateway.routing;

import java.io.IOException;

/**
 * Starts the agent process of a local sandbox, isolated as configured. Launched agents exit on
 * their own once the gateway is gone ({@code --exit-with-stdin}: the gateway holds their stdin
 * open), so a gateway killed with SIGKILL leaves no orphans; only an agent that holds named
 * sessions stays, for as long as it holds them or a later gateway uses it.
 */
public interface AgentLauncher extends AutoCloseable {

  /** Starts the agent; it prints {@code listening ...} on stdout once it serves. */
  Process launch(LocalAgentSpec spec) throws IOException;

  /**
   * Called once the agent listens, before the first call reaches it: the moment to start giving its
   * namespace what it could not have at launch (a network stack). The gateway finishes the returned
   * step before any user's call reaches the agent; its own health probe runs meanwhile.
   */
  default Pending listening(LocalAgentSpec spec, Process agent) throws IOException {
    return Pending.NONE;
  }

  /** The rest of a step that was started. */
  interface Pending {
    /** Nothing left to do. */
    Pending NONE = () -> {};

    /** Waits for the step to be done; throws if it failed. */
    void finish() throws IOException;
  }

  /**
   * Called when this gateway takes over the running agent of {@code spec} that an earlier gateway
   * launched and left running: the moment to give it again what died with that gateway (its network
   * stack).
   */
  default void adopted(LocalAgentSpec spec) throws IOException {}

  /**
   * Called when the gateway stops and leaves the agent of {@code spec} running for its named
   * sessions: frees only what goes with the gateway (its network helper), none of the sandbox.
   */
  default void left(LocalAgentSpec spec) {}

  /**
   * Called after the agent of {@code spec} exited or was stopped: frees what launch took, and kills
   * whatever of the sandbox is left.
   */
  default void stopped(LocalAgentSpec spec) {}

  /**
   * Whether an agent started for one sandbox can become the agent of another that never ran ({@link
   * #reassigned}), as a spare agent started ahead does.
   */
  default boolean reassigns() {
    return false;
  }

  /**
   * Called when the running agent of {@code from} becomes the agent of {@code to}, once {@code
   * from}'s sandbox directory and run dir have been renamed to {@code to}'s: the agent's bind
   * mounts follow the directories, and the launcher gives the sandbox what names it (its host
   * name).
   */
  default void reassigned(LocalAgentSpec from, LocalAgentSpec to) throws IOException {
    throw new UnsupportedOperationException("this launcher cannot reassign agents");
  }

  /** Whether agents run confined to their sandbox (namespaces), not merely path-checked. */
  boolean confined();

  /** A short description for the start-up log. */
  String describe();

  /** Frees what the launcher holds for all sandboxes; agents are stopped before. */
  @Override
  default void close() {}
}
