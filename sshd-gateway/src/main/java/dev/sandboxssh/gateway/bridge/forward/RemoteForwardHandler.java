package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.sdk.AcceptHandler;
import dev.sandboxssh.sdk.IncomingConnection;
import dev.sandboxssh.sdk.SandboxUnavailableException;
import dev.sandboxssh.sdk.TunnelListener;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.function.Function;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The global requests of {@code ssh -R}: {@code tcpip-forward} / {@code cancel-tcpip-forward} (RFC
 * 4254 section 7.1) and {@code streamlocal-forward@openssh.com} / {@code
 * cancel-streamlocal-forward@openssh.com}. Each listens inside the sandbox through the agent, and
 * every connection accepted there opens a {@code forwarded-tcpip} or {@code
 * forwarded-streamlocal@openssh.com} channel back to the client.
 *
 * <p>Like sshd with {@code GatewayPorts no}, TCP listeners bind the sandbox's loopback whatever
 * address the client names: under bubblewrap a sandbox shares the host's network, so binding every
 * interface would expose the port beyond the sandbox.
 */
final class RemoteForwardHandler implements RequestHandler<ConnectionService> {
  private static final Logger log = LoggerFactory.getLogger(RemoteForwardHandler.class);

  static final String TCPIP_FORWARD = "tcpip-forward";
  static final String CANCEL_TCPIP_FORWARD = "cancel-tcpip-forward";
  static final String STREAMLOCAL_FORWARD = "streamlocal-forward@openssh.com";
  static final String CANCEL_STREAMLOCAL_FORWARD = "cancel-streamlocal-forward@openssh.com";

  private final ForwardingPolicy policy;
  private final Function<Session, SessionForwards> forwards;

  RemoteForwardHandler(ForwardingPolicy policy, Function<Session, SessionForwards> forwards) {
    this.policy = policy;
    this.forwards = forwards;
  }

  @Override
  public Result process(ConnectionService service, String request, boolean wantReply, Buffer buf) {
    Session session = service.getSession();
    switch (request) {
      case TCPIP_FORWARD -> {
        String address = buf.getString();
        int port = buf.getInt();
        SessionForwards state = forwards.apply(session);
        state.inOrder(() -> reply(session, wantReply, listenTcp(state, address, port, wantReply)));
      }
      case CANCEL_TCPIP_FORWARD -> {
        String address = buf.getString();
        int port = buf.getInt();
        SessionForwards state = forwards.apply(session);
        state.inOrder(
            () -> reply(session, wantReply, state.cancelListener(tcpKey(address, port)) ? 0 : -1));
      }
      case STREAMLOCAL_FORWARD -> {
        String path = buf.getString();
        SessionForwards state = forwards.apply(session);
        state.inOrder(() -> reply(session, wantReply, listenUnix(state, path)));
      }
      case CANCEL_STREAMLOCAL_FORWARD -> {
        String path = buf.getString();
        SessionForwards state = forwards.apply(session);
        state.inOrder(
            () -> reply(session, wantReply, state.cancelListener(unixKey(path)) ? 0 : -1));
      }
      default -> {
        return Result.Unsupported;
      }
    }
    return Result.Replied;
  }

  private static String tcpKey(String address, int port) {
    return "tcp:" + address + ":" + port;
  }

  private static String unixKey(String path) {
    return "unix:" + path;
  }

  /** The port bound (0 when the port asked for was not 0), or -1 for a failure. */
  private int listenTcp(SessionForwards state, String address, int port, boolean wantReply) {
    String sandboxId = state.sandbox().sandboxId();
    if (!policy.allowsRemote()) {
      log.info(
          "tcpip-forward {}:{} refused for sandbox {}: forwarding.remote is off",
          address,
          port,
          sandboxId);
      return -1;
    }
    if (port < 0 || port > 65535) {
      return -1;
    }
    String bindHost = address.equals("::1") || address.equals("[::1]") ? "::1" : "127.0.0.1";
    state.sandbox().forwardOpened(TCPIP_FORWARD, address + ":" + port);
    try {
      TunnelListener[] self = new TunnelListener[1];
      AcceptHandler onAccept =
          incoming ->
              state.openToClient(
                  "forwarded-tcpip",
                  b -> {
                    b.putString(address);
                    b.putUInt(self[0] == null ? port : self[0].port());
                    SocketAddress from = incoming.remoteAddress();
                    InetSocketAddress inet =
                        from instanceof InetSocketAddress i ? i : new InetSocketAddress(0);
                    b.putString(inet.getHostString());
                    b.putUInt(inet.getPort());
                  },
                  incoming);
      TunnelListener listener =
          state.sandbox().sandbox().network().listen(bindHost, port, onAccept);
      self[0] = listener;
      int bound = listener.port();
      if (!state.addListener(tcpKey(address, bound), listener)) {
        listener.close();
        return -1;
      }
      log.debug(
          "tcpip-forward {}:{} listening on {} in sandbox {}",
          address,
          port,
          listener.address(),
          sandboxId);
      return port == 0 ? bound : 0;
    } catch (IOException | SandboxUnavailableException e) {
      log.info(
          "tcpip-forward {}:{} failed in sandbox {}: {}", address, port, sandboxId, e.getMessage());
      return -1;
    }
  }

  private int listenUnix(SessionForwards state, String path) {
    String sandboxId = state.sandbox().sandboxId();
    if (!policy.allowsStreamLocal()) {
      log.info(
          "streamlocal-forward {} refused for sandbox {}: forwarding.stream-local is off",
          path,
          sandboxId);
      return -1;
    }
    state.sandbox().forwardOpened(STREAMLOCAL_FORWARD, path);
    try {
      AcceptHandler onAccept =
          (IncomingConnection incoming) ->
              state.openToClient(
                  "forwarded-streamlocal@openssh.com",
                  b -> {
                    b.putString(path);
                    b.putString(""); // reserved
                  },
                  incoming);
      TunnelListener listener = state.sandbox().sandbox().network().listenUnix(path, 0, onAccept);
      if (!state.addListener(unixKey(path), listener)) {
        listener.close();
        return -1;
      }
      return 0;
    } catch (IOException | SandboxUnavailableException e) {
      log.info("streamlocal-forward {} failed in sandbox {}: {}", path, sandboxId, e.getMessage());
      return -1;
    }
  }

  /** Sends the reply: failure for a negative result, success (with the port when > 0) else. */
  private static void reply(Session session, boolean wantReply, int result) {
    if (!wantReply) {
      return;
    }
    try {
      Buffer reply;
      if (result < 0) {
        reply = session.createBuffer(SshConstants.SSH_MSG_REQUEST_FAILURE, 0);
      } else {
        reply = session.createBuffer(SshConstants.SSH_MSG_REQUEST_SUCCESS, Integer.BYTES);
        if (result > 0) {
          reply.putUInt(result);
        }
      }
      session.writePacket(reply);
    } catch (IOException e) {
      log.debug("cannot reply to a global request: {}", e.toString());
    }
  }
}
