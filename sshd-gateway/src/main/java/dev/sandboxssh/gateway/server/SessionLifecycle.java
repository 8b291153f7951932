package dev.sandboxssh.gateway.server;

import dev.sandboxssh.gateway.auth.AuthenticatedSandbox;
import dev.sandboxssh.gateway.auth.OffloadedUserAuthServiceFactory;
import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.routing.SandboxResolver;
import dev.sandboxssh.gateway.routing.unix.TcpPath;
import dev.sandboxssh.gateway.session.ClientPath;
import dev.sandboxssh.gateway.session.SessionContext;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives each connection an id and each authenticated one its {@link SessionContext}; writes the two
 * log lines of a session: who reached which sandbox from where, and, at the end, what it did; and
 * reports connections and logins to {@link GatewayEvents}: one login per connection that tried,
 * refused with the reason of its last refused key when it never got in.
 */
final class SessionLifecycle implements SessionListener {
  private static final Logger log = LoggerFactory.getLogger("dev.sandboxssh.gateway.session");

  /** The connection's id, in its log lines and every audit line. */
  private static final AttributeKey<String> ID = new AttributeKey<>();

  private final SandboxResolver resolver;
  private final GatewayEvents events;

  SessionLifecycle(SandboxResolver resolver, GatewayEvents events) {
    this.resolver = resolver;
    this.events = events;
  }

  @Override
  public void sessionCreated(Session session) {
    // Not a secret: it only ties together the lines of one connection.
    session.setAttribute(ID, HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()));
    if (session.getIoSession() instanceof EventLoopSession connection) {
      session.setAttribute(
          ClientPath.KEY, new ClientPath(() -> TcpPath.minRttMicros(connection.socket())));
    }
    events.connectionOpened();
  }

  @Override
  public void sessionEvent(Session session, Event event) {
    if (event != Event.Authenticated) {
      return;
    }
    AuthenticatedSandbox login = session.getAttribute(AuthenticatedSandbox.KEY);
    if (login == null) {
      // Only OwnerKeyAuthFactory authenticates, and it always records the login.
      throw new IllegalStateException("authenticated session without a sandbox");
    }
    SessionContext context =
        new SessionContext(
            login.sandbox(),
            login.owner(),
            login.name(),
            session.getRemoteAddress(),
            resolver,
            session.getAttribute(ID),
            session.getUsername(),
            login.keyFingerprint(),
            events);
    session.setAttribute(SessionContext.KEY, context);
    log.info(
        "session start: owner={} sandbox={} user={} from={} client={} session={}",
        login.owner(),
        login.sandbox() == null ? "-" : login.sandbox().id(),
        session.getUsername(),
        session.getRemoteAddress(),
        session.getClientVersion(),
        session.getAttribute(ID));
    events.loginSucceeded(context.who(), session.getClientVersion());
  }

  @Override
  public void sessionClosed(Session session) {
    String id = session.getAttribute(ID);
    if (id == null) {
      return; // refused as it was accepted: PreAuthGuard reported it
    }
    SessionContext context = session.getAttribute(SessionContext.KEY);
    if (context != null) {
      context.close();
      log.info(context.summary());
      context.loggedOut();
    } else if (Boolean.TRUE.equals(
        session.getAttribute(OffloadedUserAuthServiceFactory.AUTH_ATTEMPTED))) {
      OffloadedUserAuthServiceFactory.Refusal refusal =
          session.getAttribute(OffloadedUserAuthServiceFactory.LAST_REFUSAL);
      events.loginRefused(
          new GatewayEvents.Who(
              id,
              refusal != null ? refusal.user() : session.getUsername(),
              null,
              null,
              refusal != null ? refusal.key() : null,
              SessionContext.address(session.getRemoteAddress())),
          // Tried, yet no key was refused: a key accepted in principle, then never signed with.
          refusal != null ? refusal.reason() : "abandoned");
    }
    events.connectionClosed();
  }
}
