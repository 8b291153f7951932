package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.Sandbox;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sandboxes reached through envd, E2B's in-sandbox daemon: an E2B sandbox ({@code
 * https://49983-ID.DOMAIN}) or an agent's envd face. The row holds the envd's URL and access token;
 * the SDK translates the agent API onto envd's, so sessions, SFTP and scp work as with an agent,
 * while forwarding does not (envd has no tunnels). One client per (URL, token) is shared by every
 * session of that sandbox.
 */
public final class E2bSandboxProvider implements SandboxProvider {
  private record Target(String url, String token) {}

  private final Duration connectTimeout;
  private final Map<Target, Sandbox> clients = new ConcurrentHashMap<>();

  /** Reaches envds, waiting at most {@code connectTimeout} for each call that checks one. */
  public E2bSandboxProvider(Duration connectTimeout) {
    this.connectTimeout = connectTimeout;
  }

  @Override
  public SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException {
    if (sandbox.endpoint() == null || sandbox.token() == null) {
      throw new SandboxUnreachableException(
          "sandbox " + sandbox.id() + " is not running: it has no envd URL", null);
    }
    Sandbox client =
        clients.computeIfAbsent(
            new Target(sandbox.endpoint(), sandbox.token()),
            t -> Sandbox.connectEnvd(URI.create(t.url()), t.token(), connectTimeout));
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
