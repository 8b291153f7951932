package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.Sandbox;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sandboxes whose agent some platform already runs: the row holds the endpoint and token. One
 * client per (endpoint, token) is shared by every session of that sandbox.
 */
public final class RemoteSandboxProvider implements SandboxProvider {
  private record Target(String endpoint, String token) {}

  private final Duration connectTimeout;
  private final Map<Target, Sandbox> clients = new ConcurrentHashMap<>();

  /** Reaches agents, waiting at most {@code connectTimeout} for each. */
  public RemoteSandboxProvider(Duration connectTimeout) {
    this.connectTimeout = connectTimeout;
  }

  @Override
  public SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException {
    if (sandbox.endpoint() == null || sandbox.token() == null) {
      throw new SandboxUnreachableException(
          "sandbox " + sandbox.id() + " is not running: it has no agent endpoint", null);
    }
    Sandbox client =
        clients.computeIfAbsent(
            new Target(sandbox.endpoint(), sandbox.token()),
            t -> Sandbox.connect(t.endpoint(), t.token()));
    AgentProbe.check(sandbox.id(), client, connectTimeout);
    return new SandboxLease() {
      @Override
      public String sandboxId() {
        return sandbox.id();
      }

      @Override
      public Sandbox sandbox() {
        return client;
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public void close() {
    clients.values().forEach(Sandbox::close);
    clients.clear();
  }
}
