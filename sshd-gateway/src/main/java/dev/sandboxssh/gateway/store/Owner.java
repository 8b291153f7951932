package dev.sandboxssh.gateway.store;

import java.time.Instant;
import java.util.List;

/**
 * Someone who owns sandboxes and logs in with any of {@code keys}, or with an OpenSSH user
 * certificate signed by one of {@code cas}.
 */
public record Owner(String name, List<OwnerKey> keys, List<OwnerKey> cas, Instant created) {
  /** Copies the lists. */
  public Owner {
    keys = List.copyOf(keys);
    cas = List.copyOf(cas);
  }

  /** An owner with keys and no certificate authority. */
  public Owner(String name, List<OwnerKey> keys, Instant created) {
    this(name, keys, List.of(), created);
  }
}
