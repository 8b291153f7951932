package dev.sandboxssh.gateway.store;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * An ownership store that reuses owner and sandbox lookups for a short time, so that a login does
 * not always cost queries (each login reads a sandbox, its owner, and for a refusal every owner). A
 * change made through this instance is seen at once; one made elsewhere (an admin command, another
 * gateway) at the latest when the cached lookup expires.
 */
public final class CachingOwnershipStore implements OwnershipStore {
  private record Entry(Object value, long expiresNanos) {}

  private final OwnershipStore delegate;
  private final long ttlNanos;
  private final LongSupplier nanoClock;
  private final Map<String, Entry> cache = new ConcurrentHashMap<>();

  /** Caches lookups of {@code delegate} for {@code ttl}, timed by {@code nanoClock}. */
  public CachingOwnershipStore(OwnershipStore delegate, Duration ttl, LongSupplier nanoClock) {
    this.delegate = delegate;
    this.ttlNanos = ttl.toNanos();
    this.nanoClock = nanoClock;
  }

  @SuppressWarnings("unchecked")
  private <T> T cached(String key, Supplier<T> load) {
    long now = nanoClock.getAsLong();
    Entry e = cache.get(key);
    if (e != null && e.expiresNanos() - now > 0) {
      return (T) e.value();
    }
    T value = load.get();
    cache.put(key, new Entry(value, now + ttlNanos));
    return value;
  }

  @Override
  public Optional<Owner> findOwner(String name) {
    return cached("owner:" + name, () -> delegate.findOwner(name));
  }

  @Override
  public List<Owner> listOwners() {
    return cached("owners", delegate::listOwners);
  }

  @Override
  public Optional<SandboxRecord> findSandbox(String id) {
    return cached("sandbox:" + id, () -> delegate.findSandbox(id));
  }

  @Override
  public List<SandboxRecord> listSandboxes() {
    return delegate.listSandboxes();
  }

  @Override
  public boolean isEmpty() {
    return delegate.isEmpty();
  }

  @Override
  public Owner addOwner(String name, List<OwnerKey> keys, List<OwnerKey> cas) {
    try {
      return delegate.addOwner(name, keys, cas);
    } finally {
      cache.clear();
    }
  }

  @Override
  public void removeOwner(String name) {
    try {
      delegate.removeOwner(name);
    } finally {
      cache.clear();
    }
  }

  @Override
  public SandboxRecord createSandbox(SandboxRecord sandbox) {
    try {
      return delegate.createSandbox(sandbox);
    } finally {
      cache.clear();
    }
  }

  @Override
  public void deleteSandbox(String id) {
    try {
      delegate.deleteSandbox(id);
    } finally {
      cache.clear();
    }
  }

  @Override
  public void updateState(String id, SandboxRecord.State state) {
    try {
      delegate.updateState(id, state);
    } finally {
      cache.remove("sandbox:" + id);
    }
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public String toString() {
    return delegate + " cached for " + Duration.ofNanos(ttlNanos);
  }
}
