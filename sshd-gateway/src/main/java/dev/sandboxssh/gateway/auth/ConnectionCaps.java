package dev.sandboxssh.gateway.auth;

import java.util.HashMap;
import java.util.Map;

/**
 * Caps on authenticated connections at once, per owner and per sandbox, so that one owner (or one
 * leaked key) cannot take all of a gateway's connections, threads and agents.
 */
public final class ConnectionCaps {
  private final int perOwner;
  private final int perSandbox;
  private final Map<String, Integer> owners = new HashMap<>();
  private final Map<String, Integer> sandboxes = new HashMap<>();

  /** At most {@code perOwner} and {@code perSandbox} connections; 0 means unlimited. */
  public ConnectionCaps(int perOwner, int perSandbox) {
    this.perOwner = perOwner;
    this.perSandbox = perSandbox;
  }

  /**
   * Takes a slot for a connection of {@code owner} to {@code sandbox} (null for an owner's own
   * login), or returns the line that tells the client why not (and takes nothing).
   */
  public synchronized String acquire(String owner, String sandbox) {
    if (perOwner > 0 && owners.getOrDefault(owner, 0) >= perOwner) {
      return "too many connections for owner " + owner + " (limit " + perOwner + ")";
    }
    if (sandbox != null && perSandbox > 0 && sandboxes.getOrDefault(sandbox, 0) >= perSandbox) {
      return "too many connections to sandbox " + sandbox + " (limit " + perSandbox + ")";
    }
    owners.merge(owner, 1, Integer::sum);
    if (sandbox != null) {
      sandboxes.merge(sandbox, 1, Integer::sum);
    }
    return null;
  }

  /** Gives back a slot taken by {@link #acquire}. */
  public synchronized void release(String owner, String sandbox) {
    owners.computeIfPresent(owner, (k, n) -> n > 1 ? n - 1 : null);
    if (sandbox != null) {
      sandboxes.computeIfPresent(sandbox, (k, n) -> n > 1 ? n - 1 : null);
    }
  }
}
