package dev.sandboxssh.gateway.bridge.forward;

import java.io.IOException;
import java.time.Duration;
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
 */
final class ClientAliveProbe implements SessionListener {
  private static final Logger log = LoggerFactory.getLogger(ClientAliveProbe.class);
  static final String REQUEST = "keepalive@openssh.com";
  private static final AttributeKey<ScheduledFuture<?>> TASK = new AttributeKey<>();

  private final Duration interval;
  private final int countMax;
  private final ScheduledExecutorService timer;

  ClientAliveProbe(Duration interval, int countMax, ScheduledExecutorService timer) {
    this.interval = interval;
    this.countMax = countMax;
    this.timer = timer;
  }

  @Override
  public void sessionEvent(Session session, Event event) {
    if (event != Event.Authenticated) {
      return;
    }
    AtomicInteger unanswered = new AtomicInteger();
    long millis = interval.toMillis();
    ScheduledFuture<?> task =
        timer.scheduleAtFixedRate(
            () -> probe(session, unanswered), millis, millis, TimeUnit.MILLISECONDS);
    session.setAttribute(TASK, task);
  }

  private void probe(Session session, AtomicInteger unanswered) {
    if (!session.isOpen()) {
      stop(session);
      return;
    }
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
      session.request(buf, REQUEST, (cmd, reply) -> unanswered.set(0));
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
