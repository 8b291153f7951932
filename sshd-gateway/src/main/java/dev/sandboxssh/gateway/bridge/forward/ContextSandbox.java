package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.gateway.routing.SandboxUnreachableException;
import dev.sandboxssh.gateway.session.SessionContext;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import org.apache.sshd.common.session.Session;

/** A {@link SessionSandbox} over the session's {@link SessionContext}: its lease and accounting. */
public final class ContextSandbox implements SessionSandbox {
  private final SessionContext context;

  private ContextSandbox(SessionContext context) {
    this.context = context;
  }

  /** The lookup the server installs: each session's own context. */
  public static SessionSandbox of(Session session) {
    return new ContextSandbox(SessionContext.of(session));
  }

  @Override
  public String sandboxId() {
    return context.sandboxId();
  }

  @Override
  public Sandbox sandbox() throws IOException {
    try {
      return context.lease().sandbox();
    } catch (SandboxUnreachableException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  @Override
  public void recordChannel(String kind) {
    context.recordChannel(kind);
  }

  @Override
  public void forwardOpened(String kind, String target) {
    context.forwardOpened(kind, target);
  }

  @Override
  public void addBytesIn(long n) {
    context.addBytesIn(n);
  }

  @Override
  public void addBytesOut(long n) {
    context.addBytesOut(n);
  }
}
