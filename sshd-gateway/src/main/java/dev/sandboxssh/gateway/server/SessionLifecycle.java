package dev.sandboxssh.gateway.server;

import dev.sandboxssh.gateway.auth.AuthenticatedSandbox;
import dev.sandboxssh.gateway.routing.SandboxResolver;
import dev.sandboxssh.gateway.session.SessionContext;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives each authenticated session its {@link SessionContext}, and writes the two log lines of a
 * session: who reached which sandbox from where, and, at the end, what it did.
 */
final class SessionLifecycle implements SessionListener {
  private static final Logger log = LoggerFactory.getLogger("dev.sandboxssh.gateway.session");

  private final SandboxResolver resolver;

  SessionLifecycle(SandboxResolver resolver) {
    this.resolver = resolver;
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
    session.setAttribute(
        SessionContext.KEY,
        new SessionContext(
            login.sandbox(), login.owner(), login.name(), session.getRemoteAddress(), resolver));
    log.info(
        "session start: owner={} sandbox={} user={} from={} client={}",
        login.owner(),
        login.sandbox() == null ? "-" : login.sandbox().id(),
        session.getUsername(),
        session.getRemoteAddress(),
        session.getClientVersion());
  }

  @Override
  public void sessionClosed(Session session) {
    SessionContext context = session.getAttribute(SessionContext.KEY);
    if (context != null) {
      context.close();
      log.info(context.summary());
    }
  }
}
