package dev.sandboxssh.gateway.store;

import java.time.Instant;
import java.util.List;

/** Someone who owns sandboxes and logs in with any of {@code keys}. */
public record Owner(String name, List<OwnerKey> keys, Instant created) {
  /** Copies the key list. */
  public Owner {
    keys = List.copyOf(keys);
  }
}
