package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.util.List;
import java.util.Locale;

/**
 * Which forwarding a connection may use, from the {@code forwarding} section of the config: each
 * kind on or off, and the {@code host:port} targets {@code direct-tcpip} may dial.
 */
public final class ForwardingPolicy {
  private final GatewayConfig.Forwarding config;
  private final List<Target> permitOpen;

  private record Target(String host, int port) {
    boolean matches(String h, int p) {
      return (port < 0 || port == p) && (host.equals("*") || host.equalsIgnoreCase(h));
    }
  }

  /** The policy the config describes. */
  public ForwardingPolicy(GatewayConfig.Forwarding config) {
    this.config = config;
    this.permitOpen = config.permitOpen().stream().map(ForwardingPolicy::parse).toList();
  }

  private static Target parse(String entry) {
    int colon = entry.lastIndexOf(':');
    String host = unbracket(entry.substring(0, colon));
    String port = entry.substring(colon + 1);
    return new Target(host, port.equals("*") ? -1 : Integer.parseInt(port));
  }

  private static String unbracket(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  /** Whether {@code ssh -L} / {@code -D} ({@code direct-tcpip}) is allowed at all. */
  public boolean allowsLocal() {
    return config.local();
  }

  /** Whether {@code ssh -R} ({@code tcpip-forward}) is allowed. */
  public boolean allowsRemote() {
    return config.remote();
  }

  /** Whether unix-socket forwarding in either direction is allowed. */
  public boolean allowsStreamLocal() {
    return config.streamLocal();
  }

  /** Whether {@code ssh -A} is allowed. */
  public boolean allowsAgent() {
    return config.agent();
  }

  /**
   * Whether {@code direct-tcpip} may dial {@code host:port}. Names are compared as written (no
   * lookup), as sshd's PermitOpen does; {@code *} matches any host or any port.
   */
  public boolean permitsOpen(String host, int port) {
    String h = unbracket(host).toLowerCase(Locale.ROOT);
    return permitOpen.stream().anyMatch(t -> t.matches(h, port));
  }
}
