package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.sdk.IncomingConnection;
import dev.sandboxssh.sdk.Tunnel;
import dev.sandboxssh.sdk.TunnelListener;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one SSH connection opened inside its sandbox that outlives a channel: the listeners of
 * {@code ssh -R} and the agent socket of {@code ssh -A}. All of it is closed with the connection,
 * so nothing it opened keeps accepting inside the sandbox after the client is gone.
 */
final class SessionForwards implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SessionForwards.class);

  private final Session session;
  private final SessionSandbox sandbox;
  private final ForwardingThreads threads;
  // Guarded by this.
  private final Map<String, TunnelListener> listeners = new LinkedHashMap<>();
  private AgentSocket agent;
  private boolean closed;
  // Global requests run one at a time, in arrival order, so that their replies keep that order
  // (RFC 4254 section 4). Guarded by itself.
  private final ArrayDeque<Runnable> requests = new ArrayDeque<>();
  private boolean requestRunning;

  SessionForwards(Session session, SessionSandbox sandbox, ForwardingThreads threads) {
    this.session = session;
    this.sandbox = sandbox;
    this.threads = threads;
  }

  SessionSandbox sandbox() {
    return sandbox;
  }

  /** Runs {@code request} after the ones before it, off MINA's I/O threads. */
  void inOrder(Runnable request) {
    synchronized (requests) {
      requests.add(request);
      if (requestRunning) {
        return;
      }
      requestRunning = true;
    }
    threads.workers().execute(this::runRequests);
  }

  private void runRequests() {
    while (true) {
      Runnable next;
      synchronized (requests) {
        next = requests.poll();
        if (next == null) {
          requestRunning = false;
          return;
        }
      }
      try {
        next.run();
      } catch (RuntimeException e) {
        log.warn("global request failed in sandbox {}", sandbox.sandboxId(), e);
      }
    }
  }

  /** Keeps {@code listener} under {@code key} until cancelled or the connection closes. */
  synchronized boolean addListener(String key, TunnelListener listener) {
    if (closed || listeners.containsKey(key)) {
      return false;
    }
    listeners.put(key, listener);
    return true;
  }

  /** Closes and forgets the listener under {@code key}; false when there is none. */
  boolean cancelListener(String key) {
    TunnelListener listener;
    synchronized (this) {
      listener = listeners.remove(key);
    }
    if (listener == null) {
      return false;
    }
    listener.close();
    return true;
  }

  /** Whether the connection has closed. */
  synchronized boolean isClosed() {
    return closed;
  }

  /** The agent socket of this connection, made on first use. */
  synchronized AgentSocket agentSocket() throws IOException {
    if (closed) {
      throw new IOException("the connection is closing");
    }
    if (agent == null) {
      agent = AgentSocket.open(this);
    }
    return agent;
  }

  /**
   * Opens a channel of {@code type} towards the client for {@code incoming} and relays it once the
   * client accepts; a client that refuses gets the connection closed inside the sandbox.
   */
  void openToClient(String type, Consumer<Buffer> payload, IncomingConnection incoming) {
    String name = type + " from " + incoming.remoteAddress();
    TunnelRelay relay = new TunnelRelay(name, sandbox, threads);
    ForwardedChannel channel = new ForwardedChannel(type, relay, payload);
    try {
      ConnectionService service = session.getService(ConnectionService.class);
      service.registerChannel(channel);
      channel
          .open()
          .addListener(
              opened -> {
                if (!opened.isOpened()) {
                  log.debug(
                      "{}: the client refused: {}", name, String.valueOf(opened.getException()));
                  relay.channelFailed(new IOException("refused by the client"));
                  incoming.reject();
                  return;
                }
                relay.channelOpened(channel);
                // Taking the connection waits for the agent: not on an I/O thread.
                threads.workers().execute(() -> take(incoming, relay, channel, name));
              });
    } catch (IOException | RuntimeException e) {
      log.debug("{}: cannot open a channel: {}", name, e.toString());
      relay.channelFailed(e);
      incoming.reject();
    }
  }

  private void take(
      IncomingConnection incoming, TunnelRelay relay, ForwardedChannel channel, String name) {
    try {
      Tunnel tunnel = incoming.accept(relay);
      relay.tunnelConnected(tunnel);
    } catch (IOException | RuntimeException e) {
      log.debug("{}: cannot take the connection: {}", name, e.toString());
      relay.tunnelFailed(e);
      channel.close(false);
    }
  }

  /** Closes every listener and the agent socket. */
  @Override
  public void close() {
    List<TunnelListener> toClose;
    AgentSocket agentToClose;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toClose = new ArrayList<>(listeners.values());
      listeners.clear();
      agentToClose = agent;
      agent = null;
    }
    toClose.forEach(TunnelListener::close);
    if (agentToClose != null) {
      agentToClose.close();
    }
  }
}
