package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/** Hands each sandbox to the provider its row names. */
public final class SandboxResolver implements AutoCloseable {
  private final Map<SandboxRecord.Provider, SandboxProvider> providers;
  private final GatewayEvents events;

  /** Routes with {@code providers}; a sandbox whose provider is missing is unreachable. */
  public SandboxResolver(Map<SandboxRecord.Provider, SandboxProvider> providers) {
    this(providers, GatewayEvents.NONE);
  }

  /** As above, reporting how long each session waited for its agent to {@code events}. */
  public SandboxResolver(
      Map<SandboxRecord.Provider, SandboxProvider> providers, GatewayEvents events) {
    this.providers = new EnumMap<>(providers);
    this.events = events;
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
    long started = System.nanoTime();
    boolean reached = false;
    try {
      SandboxLease lease = provider.acquire(sandbox);
      reached = true;
      return lease;
    } finally {
      events.agentConnected(
          sandbox.provider().name().toLowerCase(Locale.ROOT),
          Duration.ofNanos(System.nanoTime() - started),
          reached);
    }
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
