package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.Sandbox;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * Sandboxes that something else already runs, whose row holds an endpoint and a token: an agent
 * some platform started ({@link #agents}), or an envd, E2B's in-sandbox daemon ({@link #envds}: an
 * E2B sandbox at {@code https://49983-ID.DOMAIN}, or an agent's envd face), which the SDK
 * translates to the agent API, so that sessions, SFTP and scp work as with an agent while
 * forwarding does not (envd has no tunnels). One client per (endpoint, token) is shared by every
 * session of that sandbox.
 */
public final class RemoteSandboxProvider implements SandboxProvider {
  private record Target(String endpoint, String token) {}

  private final Duration connectTimeout;
  private final BiFunction<String, String, Sandbox> connect;
  private final String endpointKind;
  private final Map<Target, Sandbox> clients = new ConcurrentHashMap<>();

  private RemoteSandboxProvider(
      Duration connectTimeout, BiFunction<String, String, Sandbox> connect, String endpointKind) {
    this.connectTimeout = connectTimeout;
    this.connect = connect;
    this.endpointKind = endpointKind;
  }

  /**
   * Reaches agents at {@code HOST:PORT} or {@code unix:PATH}, waiting at most {@code
   * connectTimeout}.
   */
  public static RemoteSandboxProvider agents(Duration connectTimeout) {
    return new RemoteSandboxProvider(connectTimeout, Sandbox::connect, "agent endpoint");
  }

  /**
   * Reaches envds at their URL, waiting at most {@code connectTimeout} for each call that checks
   * one.
   */
  public static RemoteSandboxProvider envds(Duration connectTimeout) {
    return new RemoteSandboxProvider(
        connectTimeout,
        (url, token) -> Sandbox.connectEnvd(URI.create(url), token, connectTimeout),
        "envd URL");
  }

  @Override
  public SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException {
    if (sandbox.endpoint() == null || sandbox.token() == null) {
      throw new SandboxUnreachableException(
          "sandbox " + sandbox.id() + " is not running: it has no " + endpointKind, null);
    }
    Sandbox client =
        clients.computeIfAbsent(
            new Target(sandbox.endpoint(), sandbox.token()),
            t -> connect.apply(t.endpoint(), t.token()));
    AgentProbe.check(sandbox.id(), client, connectTimeout);
    return SandboxLease.shared(sandbox.id(), client);
  }

  @Override
  public void close() {
    clients.values().forEach(Sandbox::close);
    clients.clear();
  }
}
