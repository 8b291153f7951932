package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.sdk.Sandbox;
import java.util.Optional;

/**
 * A session's hold on a reachable sandbox. Closing it tells the provider the session no longer
 * needs the agent (a local agent is stopped once idle); the {@link Sandbox} client must not be used
 * afterwards.
 */
public interface SandboxLease extends AutoCloseable {

  /** The sandbox's id. */
  String sandboxId();

  /** The SDK client of the sandbox's agent. */
  Sandbox sandbox();

  /**
   * Where the agent hands over processes' stdio, for an agent on this host; empty for one that is
   * reached over the network, whose processes' bytes always cross the agent.
   */
  default Optional<DescriptorSocket> descriptors() {
    return Optional.empty();
  }

  /** Releases the hold; idempotent. */
  @Override
  void close();
}
