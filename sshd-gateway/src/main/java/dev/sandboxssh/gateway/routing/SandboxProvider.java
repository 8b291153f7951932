package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.store.SandboxRecord;

/**
 * Where the agent of a sandbox lives, and how to reach it: local processes the gateway starts,
 * agents a platform registered, or pods. One implementation per {@link SandboxRecord.Provider}.
 */
public interface SandboxProvider extends AutoCloseable {

  /**
   * Reaches the agent of {@code sandbox}, starting it if this provider does that, within the
   * configured connect timeout. Blocks: call it off MINA's I/O threads.
   *
   * @throws SandboxUnreachableException with a one-line message naming the sandbox and the cause
   */
  SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException;

  /**
   * A lease on the agent of {@code sandbox} if it runs now, never starting one: for listings, which
   * must not wake every sandbox they show. Empty when it is not running or cannot be reached.
   */
  default java.util.Optional<SandboxLease> ifRunning(SandboxRecord sandbox) {
    try {
      return java.util.Optional.of(acquire(sandbox));
    } catch (SandboxUnreachableException e) {
      return java.util.Optional.empty();
    }
  }

  /** Stops whatever this provider started. */
  @Override
  void close();
}
