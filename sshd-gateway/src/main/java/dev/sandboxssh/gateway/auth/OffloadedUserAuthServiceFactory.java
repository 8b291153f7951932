package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.concurrent.SerialExecutor;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.apache.sshd.common.Service;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.helpers.AbstractSession;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.session.ServerUserAuthService;
import org.apache.sshd.server.session.ServerUserAuthServiceFactory;

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
 */
public final class OffloadedUserAuthServiceFactory extends ServerUserAuthServiceFactory {
  private final Executor workers;

  /** Handles authentication messages on {@code workers}. */
  public OffloadedUserAuthServiceFactory(Executor workers) {
    this.workers = workers;
  }

  @Override
  public Service create(Session session) throws java.io.IOException {
    return new OffloadedUserAuthService(session, workers);
  }

  private static final class OffloadedUserAuthService extends ServerUserAuthService {
    private final SerialExecutor messages;

    OffloadedUserAuthService(Session session, Executor workers) throws java.io.IOException {
      super(session);
      this.messages = new SerialExecutor(workers);
    }

    @Override
    public void process(int cmd, Buffer buffer) throws Exception {
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
  }
}
