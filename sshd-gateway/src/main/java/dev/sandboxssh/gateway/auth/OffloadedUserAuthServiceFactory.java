package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.concurrent.SerialExecutor;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.Service;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.session.helpers.AbstractSession;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.server.session.ServerUserAuthService;
import org.apache.sshd.server.session.ServerUserAuthServiceFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The "ssh-userauth" service, with every message handled on {@code workers} instead of MINA's I/O
 * thread, so that the ownership lookups of {@link OwnerKeyAuthenticator} never stall other
 * connections.
 *
 * <p>Why not MINA's {@code AsyncAuthException}: since 2.20 MINA allows it only for password and
 * keyboard-interactive, because an asynchronous "yes" skipped the signature check of public-key
 * logins. Here MINA's own code still parses each request, answers key queries and verifies
 * signatures; it only runs on another thread. Messages of one session are handled one at a time and
 * in arrival order.
 *
 * <p>It also keeps the per-owner and per-sandbox connection caps: a login past one is ended with
 * {@code SSH_DISCONNECT_TOO_MANY_CONNECTIONS} and a line naming the cap (OpenSSH's client prints
 * it), in place of the success message. And it marks a session that tried a real method ({@link
 * #AUTH_ATTEMPTED}), which tells an authentication failure from a connection that never tried.
 */
public final class OffloadedUserAuthServiceFactory extends ServerUserAuthServiceFactory {
  /** Set once the client tried an authentication method other than "none". */
  public static final AttributeKey<Boolean> AUTH_ATTEMPTED = new AttributeKey<>();

  /**
   * The last refusal of a login on this connection: for the one metric and audit line of a
   * connection that never logged in (a client offering several keys has each refused in turn).
   */
  public static final AttributeKey<Refusal> LAST_REFUSAL = new AttributeKey<>();

  /**
   * Why a login was refused.
   *
   * @param reason a {@link LoginFailure} label, or {@code too-many-connections}
   * @param user the SSH user name asked for
   * @param key the fingerprint of the refused key, or null
   */
  public record Refusal(String reason, String user, String key) {}

  private static final Logger LOG = LoggerFactory.getLogger(OffloadedUserAuthServiceFactory.class);

  private final Executor workers;
  private final ConnectionCaps caps;

  /** Handles authentication messages on {@code workers}, admitting logins within {@code caps}. */
  public OffloadedUserAuthServiceFactory(Executor workers, ConnectionCaps caps) {
    this.workers = workers;
    this.caps = caps;
  }

  @Override
  public Service create(Session session) throws java.io.IOException {
    return new OffloadedUserAuthService(session, workers, caps);
  }

  private static final class OffloadedUserAuthService extends ServerUserAuthService {
    private final SerialExecutor messages;
    private final ConnectionCaps caps;

    OffloadedUserAuthService(Session session, Executor workers, ConnectionCaps caps)
        throws java.io.IOException {
      super(session);
      this.messages = new SerialExecutor(workers);
      this.caps = caps;
    }

    @Override
    protected void handleAuthenticationSuccess(int cmd, Buffer buffer) throws Exception {
      ServerSession session = getServerSession();
      AuthenticatedSandbox login = session.getAttribute(AuthenticatedSandbox.KEY);
      if (login != null) {
        String owner = login.owner();
        String sandbox = login.sandbox() != null ? login.sandbox().id() : null;
        String refusal = caps.acquire(owner, sandbox);
        if (refusal != null) {
          session.setAttribute(
              LAST_REFUSAL,
              new Refusal("too-many-connections", login.name().base(), login.keyFingerprint()));
          LOG.warn(
              "login refused: too-many-connections user={} from={} {}",
              login.name().base(),
              session.getRemoteAddress(),
              refusal);
          session.disconnect(SshConstants.SSH2_DISCONNECT_TOO_MANY_CONNECTIONS, refusal);
          return;
        }
        session.addSessionListener(
            new SessionListener() {
              @Override
              public void sessionClosed(Session closed) {
                caps.release(owner, sandbox);
              }
            });
      }
      super.handleAuthenticationSuccess(cmd, buffer);
    }

    @Override
    public void process(int cmd, Buffer buffer) throws Exception {
      if (cmd == SshConstants.SSH_MSG_USERAUTH_REQUEST && triesAMethod(buffer)) {
        getSession().setAttribute(AUTH_ATTEMPTED, Boolean.TRUE);
      }
      // MINA reuses the buffer once this returns; keep a copy that starts at the command byte,
      // which the service reads back for some messages.
      int start = buffer.rpos() - 1;
      byte[] message = Arrays.copyOfRange(buffer.array(), start, buffer.wpos());
      try {
        messages.execute(
            () -> {
              ByteArrayBuffer copy = new ByteArrayBuffer(message);
              copy.rpos(1);
              try {
                OffloadedUserAuthService.super.process(cmd, copy);
              } catch (Exception e) {
                ((AbstractSession) getSession()).exceptionCaught(e);
              }
            });
      } catch (RejectedExecutionException e) {
        // The gateway is stopping: drop the connection rather than block an I/O thread.
        getSession().close(true);
      }
    }

    /** Whether a userauth request names a method other than "none" (RFC 4252 section 5). */
    private static boolean triesAMethod(Buffer buffer) {
      int start = buffer.rpos();
      try {
        buffer.getString(); // user name
        buffer.getString(); // service
        return !"none".equals(buffer.getString());
      } catch (RuntimeException e) {
        return true; // malformed: MINA refuses it below, and it counts as a failed try
      } finally {
        buffer.rpos(start);
      }
    }
  }
}
