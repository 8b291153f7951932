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

  /**
   * A lease on a client that every session of the sandbox shares and that the provider keeps open,
   * so that closing the lease releases nothing.
   */
  static SandboxLease shared(String sandboxId, Sandbox sandbox) {
    return new SandboxLease() {
      @Override
      public String sandboxId() {
        return sandboxId;
      }

      @Override
      public Sandbox sandbox() {
        return sandbox;
      }

      @Override
      public void close() {}
    };
  }
}
