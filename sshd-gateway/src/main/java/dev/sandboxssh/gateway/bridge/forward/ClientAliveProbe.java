package dev.sandboxssh.gateway.bridge.forward;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.kex.KexState;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.util.buffer.Buffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * sshd's ClientAliveInterval / ClientAliveCountMax: every {@code interval} the gateway sends a
 * {@code keepalive@openssh.com} request that wants a reply, and closes the connection when {@code
 * countMax} of them in a row went unanswered. MINA's own server heartbeat sends SSH_MSG_IGNORE,
 * which needs no answer and so never notices a client that vanished without a FIN (a laptop that
 * went to sleep, a dropped NAT mapping): its sessions, tunnels and listeners would live on.
 *
 * <p>It also enforces the idle timeout. MINA's own counts every message from the client as
 * activity, replies to these keepalives included, so it would never fire; here a reply's reset of
 * the session's idle clock is discounted.
 */
final class ClientAliveProbe implements SessionListener {
  private static final Logger log = LoggerFactory.getLogger(ClientAliveProbe.class);
  static final String REQUEST = "keepalive@openssh.com";
  private static final AttributeKey<ScheduledFuture<?>> TASK = new AttributeKey<>();

  /** A keepalive reply resets MINA's idle clock within this long after the reply handler ran. */
  private static final Duration REPLY_RESET_SLACK = Duration.ofMillis(200);

  private final Duration interval;
  private final int countMax;
  private final Duration idleTimeout;
  private final ScheduledExecutorService timer;

  /** What one session's probe knows. */
  private static final class State {
    final AtomicInteger unanswered = new AtomicInteger();
    volatile Instant lastReply = Instant.EPOCH;
    volatile Instant activityBeforeReply = Instant.EPOCH;
    Instant lastActivity = Instant.now();
    Instant lastProbe = Instant.now();
  }

  ClientAliveProbe(
      Duration interval, int countMax, Duration idleTimeout, ScheduledExecutorService timer) {
    this.interval = interval;
    this.countMax = countMax;
    this.idleTimeout = idleTimeout;
    this.timer = timer;
  }

  @Override
  public void sessionEvent(Session session, Event event) {
    if (event != Event.Authenticated) {
      return;
    }
    State state = new State();
    long millis = interval.toMillis();
    if (!idleTimeout.isZero()) {
      millis = Math.min(millis, Math.max(100, idleTimeout.toMillis() / 2));
    }
    ScheduledFuture<?> task =
        timer.scheduleAtFixedRate(
            () -> tick(session, state), millis, millis, TimeUnit.MILLISECONDS);
    session.setAttribute(TASK, task);
  }

  private void tick(Session session, State state) {
    if (!session.isOpen()) {
      stop(session);
      return;
    }
    if (!idleTimeout.isZero() && idleFor(session, state).compareTo(idleTimeout) > 0) {
      log.info("closing {}: idle for more than {}", session, idleTimeout);
      stop(session);
      session.close(true);
      return;
    }
    Instant now = Instant.now();
    if (Duration.between(state.lastProbe, now).compareTo(interval) >= 0) {
      state.lastProbe = now;
      probe(session, state);
    }
  }

  /** How long the client has sent nothing but keepalive replies. */
  private static Duration idleFor(Session session, State state) {
    Instant start = session.getIdleTimeoutStart();
    Instant reply = state.lastReply;
    boolean resetByReply =
        !start.isBefore(reply) && Duration.between(reply, start).compareTo(REPLY_RESET_SLACK) < 0;
    Instant activity = resetByReply ? state.activityBeforeReply : start;
    if (activity.isAfter(state.lastActivity)) {
      state.lastActivity = activity;
    }
    return Duration.between(state.lastActivity, Instant.now());
  }

  private void probe(Session session, State state) {
    AtomicInteger unanswered = state.unanswered;
    if (session.getKexState() != KexState.DONE) {
      return; // global requests wait for the key exchange: do not count them against the client
    }
    if (unanswered.incrementAndGet() > countMax) {
      log.info(
          "closing {}: no answer to {} keepalives in a row ({} apart)",
          session,
          countMax,
          interval);
      stop(session);
      session.close(true);
      return;
    }
    try {
      Buffer buf = session.createBuffer(SshConstants.SSH_MSG_GLOBAL_REQUEST, 32);
      buf.putString(REQUEST);
      buf.putBoolean(true);
      // Any answer counts, failure included: OpenSSH answers this request with a failure.
      session.request(
          buf,
          REQUEST,
          (cmd, reply) -> {
            unanswered.set(0);
            // MINA resets the idle clock right after this handler: remember what it was.
            state.activityBeforeReply = session.getIdleTimeoutStart();
            state.lastReply = Instant.now();
          });
    } catch (IOException | RuntimeException e) {
      log.debug("keepalive to {} failed: {}", session, e.toString());
    }
  }

  private static void stop(Session session) {
    ScheduledFuture<?> task = session.removeAttribute(TASK);
    if (task != null) {
      task.cancel(false);
    }
  }

  @Override
  public void sessionClosed(Session session) {
    stop(session);
  }
}
