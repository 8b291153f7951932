package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.global.CancelTcpipForwardHandler;
import org.apache.sshd.server.global.TcpipForwardHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port, socket and agent forwarding relayed through the sandbox's agent, installed into an {@link
 * SshServer}: the {@code direct-*} channel factories, the {@code *-forward} global requests, the
 * {@code ssh -A} socket, X11 refusal and the keepalive probe.
 *
 * <p>MINA's own forwarder, which would open sockets on the gateway host, is never reachable: its
 * channel factories and global request handlers are replaced and its filter rejects everything.
 */
public final class Forwarding implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Forwarding.class);
  private static final AttributeKey<Forwarding> SERVER_KEY = new AttributeKey<>();
  private static final AttributeKey<SessionForwards> SESSION_KEY = new AttributeKey<>();
  private static final AttributeKey<Boolean> AGENT_REQUESTED = new AttributeKey<>();

  private final GatewayConfig config;
  private final ForwardingPolicy policy;
  private final SessionSandbox.Lookup sandboxes;
  private final ForwardingThreads threads = ForwardingThreads.create();

  /** Forwarding under {@code config}'s policy, reaching sandboxes through {@code sandboxes}. */
  public Forwarding(GatewayConfig config, SessionSandbox.Lookup sandboxes) {
    this.config = config;
    this.policy = new ForwardingPolicy(config.forwarding());
    this.sandboxes = sandboxes;
  }

  /** Adds forwarding to {@code sshd}, keeping the channel factories it already has. */
  public void install(SshServer sshd) {
    List<ChannelFactory> factories = new ArrayList<>(sshd.getChannelFactories());
    for (DirectChannel.Kind kind : DirectChannel.Kind.values()) {
      factories.add(new DirectChannel.Factory(kind, policy, sandboxes, threads));
    }
    sshd.setChannelFactories(factories);

    List<RequestHandler<ConnectionService>> handlers = new ArrayList<>();
    handlers.add(new RemoteForwardHandler(policy, this::forwardsOf));
    for (RequestHandler<ConnectionService> h : ServerBuilder.DEFAULT_GLOBAL_REQUEST_HANDLERS) {
      // These two would listen on the gateway host.
      if (!(h instanceof TcpipForwardHandler) && !(h instanceof CancelTcpipForwardHandler)) {
        handlers.add(h);
      }
    }
    sshd.setGlobalRequestHandlers(handlers);
    sshd.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
    sshd.setAttribute(SERVER_KEY, this);

    sshd.addSessionListener(
        new SessionListener() {
          @Override
          public void sessionClosed(Session session) {
            SessionForwards forwards = session.removeAttribute(SESSION_KEY);
            if (forwards != null) {
              // Closing talks to the agent: not on the I/O thread that reports the close.
              threads.workers().execute(forwards::close);
            }
          }
        });
    sshd.addSessionListener(
        new ClientAliveProbe(
            config.keepalive().interval(),
            config.keepalive().countMax(),
            config.keepalive().idleTimeout(),
            threads.timer()));
  }

  private SessionForwards forwardsOf(Session session) {
    return session.computeAttributeIfAbsent(
        SESSION_KEY, k -> new SessionForwards(session, sandboxes.of(session), threads));
  }

  private static Forwarding of(Session session) {
    Forwarding forwarding = session.getFactoryManager().getAttribute(SERVER_KEY);
    if (forwarding == null) {
      throw new IllegalStateException("forwarding is not installed in this server");
    }
    return forwarding;
  }

  /**
   * Answers {@code auth-agent-req@openssh.com} on a session channel: allowed by policy, the
   * channel's processes get an agent socket (see {@link #agentSocketFor}).
   */
  public static RequestHandler.Result agentRequested(ChannelSession channel) {
    Forwarding forwarding = of(channel.getSession());
    if (!forwarding.policy.allowsAgent()) {
      log.info(
          "agent forwarding refused for sandbox {}: forwarding.agent is off",
          forwarding.sandboxes.of(channel.getSession()).sandboxId());
      return RequestHandler.Result.ReplyFailure;
    }
    channel.setAttribute(AGENT_REQUESTED, Boolean.TRUE);
    return RequestHandler.Result.ReplySuccess;
  }

  /**
   * The value of SSH_AUTH_SOCK for processes of {@code channel}: the path of the connection's agent
   * socket inside the sandbox, created on first use, or null when the client did not ask for agent
   * forwarding on this channel. Blocks on the agent.
   */
  public static String agentSocketFor(ChannelSession channel) throws IOException {
    if (!Boolean.TRUE.equals(channel.getAttribute(AGENT_REQUESTED))) {
      return null;
    }
    Session session = channel.getSession();
    SessionForwards forwards = of(session).forwardsOf(session);
    forwards.sandbox().forwardOpened("auth-agent-req", null);
    return forwards.agentSocket().path();
  }

  /** Answers {@code x11-req}: always refused, as the sandbox has no display to offer. */
  public static RequestHandler.Result x11Requested(ChannelSession channel) {
    log.info("x11-req refused on {}: X11 forwarding is not supported", channel);
    return RequestHandler.Result.ReplyFailure;
  }

  /** Stops the threads forwarding runs on. */
  @Override
  public void close() {
    threads.close();
  }
}
