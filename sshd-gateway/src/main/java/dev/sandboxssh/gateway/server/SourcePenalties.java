package dev.sandboxssh.gateway.server;

import dev.sandboxssh.gateway.config.Cidr;
import dev.sandboxssh.gateway.config.GatewayConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * OpenSSH 9.8's PerSourcePenalties: a connection that ends badly before authenticating adds time to
 * its source's penalty, which runs out in real time; once a source owes at least {@code min} it is
 * refused outright until its penalty has run out. Sources are single IPv4 addresses and IPv6 /64s
 * (one host commonly holds a whole /64), so one source's failures never refuse another's logins.
 *
 * <p>Threat: key guessing and scanners from one address, which cost a key exchange each.
 */
public final class SourcePenalties {
  /** Why a source is penalised. */
  public enum Kind {
    /** It tried to authenticate and failed. */
    AUTH_FAILURE("auth-failure"),
    /** It closed without trying to authenticate. */
    NO_AUTH("no-auth"),
    /** It was closed by the login grace time. */
    GRACE_EXCEEDED("grace-exceeded");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The label used in logs and config. */
    public String label() {
      return label;
    }
  }

  /** Bounds the table: a flood from many addresses cannot grow memory without end. */
  static final int MAX_SOURCES = 65_536;

  private record Entry(long untilNanos, boolean refusing) {}

  private final GatewayConfig.Penalties config;
  private final List<Cidr> exempt = new ArrayList<>();
  private final LongSupplier nanoClock;
  private final Map<String, Entry> sources = new HashMap<>();

  /** Penalties as configured, timed by {@code nanoClock} ({@code System::nanoTime} in service). */
  public SourcePenalties(GatewayConfig.Penalties config, LongSupplier nanoClock) {
    this.config = config;
    this.nanoClock = nanoClock;
    for (String range : config.exempt()) {
      exempt.add(Cidr.parse(range));
    }
  }

  /**
   * Adds the penalty of {@code kind} to {@code source}; returns how long it is now refused when
   * this event began its refusal (so that it is logged once), else empty.
   */
  public synchronized Optional<Duration> penalise(InetAddress source, Kind kind) {
    long add = amount(kind).toNanos();
    if (!config.enabled() || add == 0 || isExempt(source)) {
      return Optional.empty();
    }
    long now = nanoClock.getAsLong();
    String key = key(source);
    Entry e = sources.get(key);
    if (e == null && sources.size() >= MAX_SOURCES) {
      sources.values().removeIf(old -> old.untilNanos() - now <= 0);
      if (sources.size() >= MAX_SOURCES) {
        return Optional.empty(); // full of live penalties: let this one go rather than grow
      }
    }
    boolean live = e != null && e.untilNanos() - now > 0;
    long base = live ? e.untilNanos() : now;
    long until = Math.min(base + add, now + config.max().toNanos());
    boolean wasRefusing = live && e.refusing();
    boolean refusing = wasRefusing || until - now >= config.min().toNanos();
    sources.put(key, new Entry(until, refusing));
    return refusing && !wasRefusing ? Optional.of(Duration.ofNanos(until - now)) : Optional.empty();
  }

  /** How much longer {@code source} is refused; zero when it may connect. */
  public synchronized Duration refusedFor(InetAddress source) {
    String key = key(source);
    Entry e = sources.get(key);
    if (e == null) {
      return Duration.ZERO;
    }
    long left = e.untilNanos() - nanoClock.getAsLong();
    if (left <= 0) {
      sources.remove(key);
      return Duration.ZERO;
    }
    return e.refusing() ? Duration.ofNanos(left) : Duration.ZERO;
  }

  /** The source an address counts as, for logs: the address, or its /64. */
  public static String key(InetAddress source) {
    byte[] a = source.getAddress();
    if (a.length == 4) {
      return source.getHostAddress();
    }
    try {
      return InetAddress.getByAddress(Cidr.mask(a, 64)).getHostAddress() + "/64";
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private boolean isExempt(InetAddress source) {
    for (Cidr range : exempt) {
      if (range.contains(source)) {
        return true;
      }
    }
    return false;
  }

  private Duration amount(Kind kind) {
    return switch (kind) {
      case AUTH_FAILURE -> config.authFailure();
      case NO_AUTH -> config.noAuth();
      case GRACE_EXCEEDED -> config.graceExceeded();
    };
  }
}
