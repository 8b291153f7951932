package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.store.SandboxRecord;
import java.util.EnumMap;
import java.util.Map;

/** Hands each sandbox to the provider its row names. */
public final class SandboxResolver implements AutoCloseable {
  private final Map<SandboxRecord.Provider, SandboxProvider> providers;

  /** Routes with {@code providers}; a sandbox whose provider is missing is unreachable. */
  public SandboxResolver(Map<SandboxRecord.Provider, SandboxProvider> providers) {
    this.providers = new EnumMap<>(providers);
  }

  /** Reaches the agent of {@code sandbox} through its provider. */
  public SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException {
    SandboxProvider provider = providers.get(sandbox.provider());
    if (provider == null) {
      throw new SandboxUnreachableException(
          "sandbox "
              + sandbox.id()
              + " is not running: provider "
              + sandbox.provider().name().toLowerCase(java.util.Locale.ROOT)
              + " is not enabled on this gateway",
          null);
    }
    return provider.acquire(sandbox);
  }

  /**
   * A lease on the agent of {@code sandbox} if it runs now (see {@link SandboxProvider#ifRunning}).
   */
  public java.util.Optional<SandboxLease> ifRunning(SandboxRecord sandbox) {
    SandboxProvider provider = providers.get(sandbox.provider());
    return provider == null ? java.util.Optional.empty() : provider.ifRunning(sandbox);
  }

  /** Closes every provider. */
  @Override
  public void close() {
    providers.values().forEach(SandboxProvider::close);
  }
}
