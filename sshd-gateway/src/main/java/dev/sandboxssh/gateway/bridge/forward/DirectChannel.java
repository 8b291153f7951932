package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.gateway.session.ClientPath;
import dev.sandboxssh.sdk.SandboxUnavailableException;
import dev.sandboxssh.sdk.Tunnel;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.util.Collections;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.Closeable;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelAsyncOutputStream;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.AbstractServerChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code direct-tcpip} ({@code ssh -L}, {@code -D}) or {@code direct-streamlocal@openssh.com}
 * channel: the target is dialled from inside the sandbox through the agent, never from the gateway
 * host, so "127.0.0.1" is the sandbox's loopback.
 *
 * <p>A target the policy forbids fails to open with ADMINISTRATIVELY_PROHIBITED, one that cannot be
 * reached with CONNECT_FAILED (RFC 4254 section 5.1); either way the connection goes on.
 */
public final class DirectChannel extends AbstractServerChannel implements TunnelRelay.ChannelEnd {
  private static final Logger log = LoggerFactory.getLogger(DirectChannel.class);

  /** The two channel types, named as on the wire. */
  public enum Kind {
    /** RFC 4254 section 7.2. */
    TCP("direct-tcpip"),
    /** OpenSSH PROTOCOL section 2.4. */
    UNIX("direct-streamlocal@openssh.com");

    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    /** The channel type as the client sends it. */
    public String wireName() {
      return wireName;
    }
  }

  /** Creates the channels of one kind. */
  public static final class Factory implements ChannelFactory {
    private final Kind kind;
    private final ForwardingPolicy policy;
    private final SessionSandbox.Lookup sandboxes;
    private final ForwardingThreads threads;

    /** A factory of {@code kind} channels under {@code policy}. */
    public Factory(
        Kind kind,
        ForwardingPolicy policy,
        SessionSandbox.Lookup sandboxes,
        ForwardingThreads threads) {
      this.kind = kind;
      this.policy = policy;
      this.sandboxes = sandboxes;
      this.threads = threads;
    }

    @Override
    public String getName() {
      return kind.wireName();
    }

    @Override
    public Channel createChannel(Session session) {
      return new DirectChannel(kind, policy, sandboxes, threads);
    }
  }

  private final Kind kind;
  private final ForwardingPolicy policy;
  private final SessionSandbox.Lookup sandboxes;
  private final ForwardingThreads threads;
  private volatile TunnelRelay relay;
  private volatile ChannelAsyncOutputStream out;

  private DirectChannel(
      Kind kind,
      ForwardingPolicy policy,
      SessionSandbox.Lookup sandboxes,
      ForwardingThreads threads) {
    super("", Collections.emptyList(), null);
    this.kind = kind;
    this.policy = policy;
    this.sandboxes = sandboxes;
    this.threads = threads;
    addCloseFutureListener(
        closed -> {
          TunnelRelay r = relay;
          if (r != null) {
            r.channelClosed();
          }
        });
  }

  /** Opens with the part of the client's window {@link ClientPath} says to fill. */
  @Override
  public OpenFuture open(long recipient, long rwSize, long packetSize, Buffer buffer) {
    return super.open(
        recipient, ClientPath.windowToUse(getSession(), rwSize, packetSize), packetSize, buffer);
  }

  @Override
  protected OpenFuture doInit(Buffer buffer) {
    OpenFuture opened = new DefaultOpenFuture(this, this);
    String host;
    int port;
    String refusal;
    if (kind == Kind.TCP) {
      host = buffer.getString();
      port = buffer.getInt();
      refusal =
          !policy.allowsLocal()
              ? "forwarding.local is off"
              : !policy.permitsOpen(host, port) ? "not in forwarding.permit-open" : null;
    } else {
      host = buffer.getString(); // the socket path; a reserved string and uint32 follow
      port = -1;
      refusal = policy.allowsStreamLocal() ? null : "forwarding.stream-local is off";
    }
    SessionSandbox sandbox = sandboxes.of(getSession());
    String target = port < 0 ? "unix:" + host : host + ":" + port;
    if (refusal != null) {
      log.info(
          "{} to {} refused for sandbox {}: {}",
          kind.wireName(),
          target,
          sandbox.sandboxId(),
          refusal);
      fail(
          opened,
          new SshChannelOpenException(
              getChannelId(), SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED, refusal));
      return opened;
    }
    sandbox.forwardOpened(kind.wireName(), target);
    TunnelRelay r = new TunnelRelay(kind.wireName() + " " + target, sandbox, threads);
    relay = r;
    // Dialling waits for the agent (and maybe for the sandbox to start): not on an I/O thread.
    threads.workers().execute(() -> connect(opened, sandbox, r, host, port, target));
    return opened;
  }

  private void connect(
      OpenFuture opened, SessionSandbox sandbox, TunnelRelay r, String host, int port, String to) {
    Tunnel tunnel;
    try {
      tunnel =
          port < 0
              ? sandbox.sandbox().network().dialUnix(host, r)
              : sandbox.sandbox().network().dial(host, port, r);
    } catch (IOException | SandboxUnavailableException e) {
      int reason =
          e instanceof AccessDeniedException
              ? SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
              : SshConstants.SSH_OPEN_CONNECT_FAILED;
      log.debug("{} to {} in sandbox {} failed: {}", kind.wireName(), to, sandbox.sandboxId(), e);
      r.tunnelFailed(e);
      r.channelFailed(e);
      fail(opened, new SshChannelOpenException(getChannelId(), reason, e.getMessage(), e));
      return;
    }
    out = new ChannelAsyncOutputStream(this, SshConstants.SSH_MSG_CHANNEL_DATA);
    r.tunnelConnected(tunnel);
    if (isClosing()) {
      r.channelFailed(new IOException("the channel closed while connecting"));
      return;
    }
    try {
      signalChannelOpenSuccess();
      opened.setOpened();
      r.channelOpened(this);
    } catch (RuntimeException e) {
      signalChannelOpenFailure(e);
      r.channelFailed(e);
      opened.setException(e);
    } finally {
      notifyStateChanged("connected");
    }
  }

  private void fail(OpenFuture opened, SshChannelOpenException why) {
    try {
      signalChannelOpenFailure(why);
      opened.setException(why);
    } finally {
      close(true);
    }
  }

  @Override
  protected void doWriteData(byte[] data, int off, long len) {
    relay.fromClient(data, off, (int) len);
  }

  @Override
  protected void doWriteExtendedData(byte[] data, int off, long len) throws IOException {
    throw new IOException(kind.wireName() + " channels carry no extended data");
  }

  @Override
  public void handleEof() throws IOException {
    super.handleEof();
    TunnelRelay r = relay;
    if (r != null) {
      r.clientEof();
    }
  }

  @Override
  public void handleWindowAdjust(Buffer buffer) throws IOException {
    super.handleWindowAdjust(buffer);
    ChannelAsyncOutputStream o = out;
    if (o != null) {
      o.onWindowExpanded();
    }
  }

  @Override
  protected boolean mayWrite() {
    // Queued data must still leave while the channel closes gracefully.
    return !isClosed();
  }

  @Override
  protected Closeable getInnerCloseable() {
    ChannelAsyncOutputStream o = out;
    return o == null
        ? super.getInnerCloseable()
        : builder().close(o).close(super.getInnerCloseable()).build();
  }

  @Override
  public ChannelAsyncOutputStream toClient() {
    return out;
  }

  @Override
  public void sendEofToClient() throws IOException {
    sendEof();
  }

  @Override
  public void closeGracefully() {
    close(false);
  }
}
