package dev.sandboxssh.gateway.server;

import dev.sandboxssh.gateway.auth.OffloadedUserAuthServiceFactory;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.session.SessionContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The defences of connections that have not authenticated yet: sshd's MaxStartups (random early
 * drop past a number of unauthenticated connections) and PerSourcePenalties ({@link
 * SourcePenalties}). A refused connection is closed as it is accepted, before the gateway sends its
 * banner or spends a key exchange on it. The login grace time itself is MINA's auth timeout; this
 * class only penalises the connections it closes.
 */
final class PreAuthGuard implements SessionListener {
  private static final Logger log = LoggerFactory.getLogger(PreAuthGuard.class);

  /** Set while a session counts as unauthenticated; cleared exactly once. */
  private static final AttributeKey<AtomicBoolean> PENDING = new AttributeKey<>();

  private static final AttributeKey<Long> STARTED = new AttributeKey<>();

  /** Drops are logged at most this often, with the count since the last line. */
  private static final long DROP_LOG_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();

  private final GatewayConfig.MaxStartups maxStartups;
  private final Duration graceTime;
  private final SourcePenalties penalties;
  private final GatewayEvents events;
  private volatile boolean draining;
  private final AtomicInteger unauthenticated = new AtomicInteger();
  private final AtomicInteger dropsUnlogged = new AtomicInteger();
  private final AtomicLong lastDropLog =
      new AtomicLong(System.nanoTime() - DROP_LOG_INTERVAL_NANOS);

  PreAuthGuard(GatewayConfig.PreAuth config, GatewayEvents events) {
    this.events = events;
    this.maxStartups = config.maxStartups();
    this.graceTime = config.graceTime();
    this.penalties = new SourcePenalties(config.penalties(), System::nanoTime);
  }

  /** Unauthenticated connections now open. */
  int unauthenticated() {
    return unauthenticated.get();
  }

  /**
   * Refuses every connection from now on: the gateway drains before it stops. Its port is closed
   * too, but a connection accepted just before would otherwise still begin a login.
   */
  void refuseAll() {
    draining = true;
  }

  @Override
  public void sessionCreated(Session session) {
    InetAddress source = source(session);
    if (draining) {
      events.connectionRefused("draining", SessionContext.address(session.getRemoteAddress()));
      throw new ConnectionRefused("the gateway is stopping");
    }
    if (source != null && !penalties.refusedFor(source).isZero()) {
      // Logged once, when the refusal began.
      events.connectionRefused(
          "source-penalty", SessionContext.address(session.getRemoteAddress()));
      throw new ConnectionRefused("source " + SourcePenalties.key(source) + " is penalised");
    }
    int open = unauthenticated.get();
    if (drop(open)) {
      logDrop(open, session.getRemoteAddress());
      events.connectionRefused("max-startups", SessionContext.address(session.getRemoteAddress()));
      throw new ConnectionRefused("past max-startups " + maxStartups);
    }
    unauthenticated.incrementAndGet();
    session.setAttribute(STARTED, System.nanoTime());
    session.setAttribute(PENDING, new AtomicBoolean(true));
  }

  @Override
  public void sessionEvent(Session session, Event event) {
    if (event == Event.Authenticated) {
      settle(session);
    }
  }

  @Override
  public void sessionClosed(Session session) {
    if (!settle(session)) {
      return; // authenticated, or refused as it was accepted
    }
    InetAddress source = source(session);
    if (source == null) {
      return;
    }
    SourcePenalties.Kind kind;
    if (Boolean.TRUE.equals(session.getAttribute(OffloadedUserAuthServiceFactory.AUTH_ATTEMPTED))) {
      kind = SourcePenalties.Kind.AUTH_FAILURE;
    } else if (System.nanoTime() - session.getAttribute(STARTED) >= graceTime.toNanos()) {
      kind = SourcePenalties.Kind.GRACE_EXCEEDED;
    } else {
      kind = SourcePenalties.Kind.NO_AUTH;
    }
    penalties
        .penalise(source, kind)
        .ifPresent(
            d ->
                log.warn(
                    "source {} refused for {} s: repeated {} before authentication",
                    SourcePenalties.key(source),
                    Math.max(1, d.toSeconds()),
                    kind.label()));
  }

  /** Whether a new connection is dropped when {@code open} unauthenticated ones exist. */
  private boolean drop(int open) {
    if (open < maxStartups.start()) {
      return false;
    }
    if (open >= maxStartups.full()) {
      return true;
    }
    // sshd's linear ramp: rate% at start, 100% at full.
    double p =
        maxStartups.rate()
            + (100.0 - maxStartups.rate())
                * (open - maxStartups.start())
                / (maxStartups.full() - maxStartups.start());
    return ThreadLocalRandom.current().nextDouble(100.0) < p;
  }

  private void logDrop(int open, SocketAddress from) {
    int drops = dropsUnlogged.incrementAndGet();
    long last = lastDropLog.get();
    long now = System.nanoTime();
    if (now - last >= DROP_LOG_INTERVAL_NANOS && lastDropLog.compareAndSet(last, now)) {
      dropsUnlogged.addAndGet(-drops);
      log.warn(
          "dropped {} connection(s), the last from {}: {} unauthenticated connections open"
              + " (max-startups {})",
          drops,
          from,
          open,
          maxStartups);
    }
  }

  /** Ends the session's unauthenticated state; true if this call did. */
  private boolean settle(Session session) {
    AtomicBoolean pending = session.getAttribute(PENDING);
    if (pending != null && pending.compareAndSet(true, false)) {
      unauthenticated.decrementAndGet();
      return true;
    }
    return false;
  }

  private static InetAddress source(Session session) {
    SocketAddress remote = session.getRemoteAddress();
    return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
  }

  /** Thrown from {@link #sessionCreated}: MINA then closes the socket it just accepted. */
  private static final class ConnectionRefused extends RuntimeException {
    ConnectionRefused(String message) {
      super(message, null, false, false);
    }
  }
}
