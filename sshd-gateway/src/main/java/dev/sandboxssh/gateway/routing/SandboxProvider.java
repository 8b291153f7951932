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

  /** Stops whatever this provider started. */
  @Override
  void close();
}
