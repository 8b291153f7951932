package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.sdk.Sandbox;

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

  /** Releases the hold; idempotent. */
  @Override
  void close();
}
