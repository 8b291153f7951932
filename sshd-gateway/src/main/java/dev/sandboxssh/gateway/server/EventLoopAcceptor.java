package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.Closeable;
import org.apache.sshd.common.PropertyResolver;
import org.apache.sshd.common.io.IoAcceptor;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoServiceEventListener;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.util.closeable.AbstractInnerCloseable;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * Listens on the gateway's ports from the first {@link EventLoop} and gives each accepted
 * connection to the next loop in turn, which owns it from then on.
 */
final class EventLoopAcceptor extends AbstractInnerCloseable implements IoAcceptor {
  // A burst of connections is taken this many at a time, so the accepting loop's own connections
  // wait at most that long.
  private static final int ACCEPTS_PER_TURN = 16;
  private static final long ACCEPT_PAUSE_MILLIS = 100;

  private final PropertyResolver properties;
  private final IoHandler handler;
  private final List<EventLoop> loops;
  private final AtomicInteger nextLoop = new AtomicInteger();
  private final Map<SocketAddress, ServerSocketChannel> bound = new ConcurrentHashMap<>();
  private final Map<Long, IoSession> sessions = new ConcurrentHashMap<>();
  private volatile IoServiceEventListener listener;

  EventLoopAcceptor(PropertyResolver properties, IoHandler handler, List<EventLoop> loops) {
    this.properties = properties;
    this.handler = handler;
    this.loops = loops;
  }

  private EventLoop acceptLoop() {
    return loops.get(0);
  }

  @Override
  public void bind(SocketAddress address) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open();
    try {
      server.setOption(
          StandardSocketOptions.SO_REUSEADDR,
          CoreModuleProperties.SOCKET_REUSEADDR.getRequired(properties));
      server.bind(address, CoreModuleProperties.SOCKET_BACKLOG.getRequired(properties));
      server.configureBlocking(false);
      SocketAddress local = server.getLocalAddress();
      EventLoop.Ready onAccept = key -> acceptAll(key, server, local);
      acceptLoop()
          .executeAndWait(
              () -> server.register(acceptLoop().selector(), SelectionKey.OP_ACCEPT, onAccept));
      bound.put(local, server);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  @Override
  public void bind(Collection<? extends SocketAddress> addresses) throws IOException {
    for (SocketAddress address : addresses) {
      bind(address);
    }
  }

  private void acceptAll(SelectionKey key, ServerSocketChannel server, SocketAddress local) {
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
      SocketChannel socket;
      try {
        socket = server.accept();
      } catch (IOException e) {
        // Out of descriptors, say. The waiting connection stays queued and the port stays ready,
        // so accepting again at once would spin the loop: the listener pauses instead.
        log.warn("accept on {}: {}; pausing {} ms", local, e.toString(), ACCEPT_PAUSE_MILLIS);
        key.interestOps(0);
        CompletableFuture.delayedExecutor(ACCEPT_PAUSE_MILLIS, TimeUnit.MILLISECONDS)
            .execute(() -> acceptLoop().execute(() -> resumeAccepting(key)));
        return;
      }
      if (socket == null) {
        return;
      }
      EventLoop loop = loops.get(Math.floorMod(nextLoop.getAndIncrement(), loops.size()));
      loop.execute(() -> open(loop, socket, local));
    }
  }

  private static void resumeAccepting(SelectionKey key) {
    if (key.isValid()) {
      key.interestOps(SelectionKey.OP_ACCEPT);
    }
  }

  // On the connection's own loop, so its handler's first writes and reads all happen there.
  private void open(EventLoop loop, SocketChannel socket, SocketAddress acceptance) {
    EventLoopSession session = null;
    IoServiceEventListener events = listener;
    try {
      socket.configureBlocking(false);
      socket.setOption(
          StandardSocketOptions.TCP_NODELAY,
          CoreModuleProperties.TCP_NODELAY.getRequired(properties));
      socket.setOption(
          StandardSocketOptions.SO_KEEPALIVE,
          CoreModuleProperties.SOCKET_KEEPALIVE.getRequired(properties));
      if (events != null) {
        events.connectionAccepted(
            this, socket.getLocalAddress(), socket.getRemoteAddress(), acceptance);
      }
      SelectionKey key = socket.register(loop.selector(), 0);
      session = new EventLoopSession(this, handler, loop, socket, key, acceptance);
      key.attach(session);
      handler.sessionCreated(session);
      sessions.put(session.getId(), session);
      if (session.isClosing()) {
        sessions.remove(session.getId());
        handler.sessionClosed(session);
      } else {
        session.startReading();
      }
    } catch (Throwable e) {
      log.debug("open({}): {}", socket, e.toString());
      if (events != null) {
        try {
          events.abortAcceptedConnection(
              this, socket.getLocalAddress(), socket.getRemoteAddress(), acceptance, e);
        } catch (Exception ignored) {
          // The connection is dropped below either way.
        }
      }
      if (session != null) {
        session.close(true);
      } else {
        try {
          socket.close();
        } catch (IOException ignored) {
          // Nothing was built on it yet.
        }
      }
    }
  }

  void sessionClosed(EventLoopSession session) {
    sessions.remove(session.getId());
  }

  @Override
  public void unbind(SocketAddress address) {
    ServerSocketChannel server = bound.remove(address);
    if (server == null) {
      return;
    }
    // Closed on the loop, which then selects once: a registered channel's socket is released only
    // when its selector deregisters it, and a drain must refuse the next client at once.
    try {
      acceptLoop()
          .executeAndWait(
              () -> {
                server.close();
                acceptLoop().releaseClosed();
              });
    } catch (IOException e) {
      log.warn("unbind({}): {}", address, e.toString());
    }
  }

  @Override
  public void unbind(Collection<? extends SocketAddress> addresses) {
    for (SocketAddress address : addresses) {
      unbind(address);
    }
  }

  @Override
  public void unbind() {
    unbind(getBoundAddresses());
  }

  @Override
  public Set<SocketAddress> getBoundAddresses() {
    return new HashSet<>(bound.keySet());
  }

  @Override
  public Map<Long, IoSession> getManagedSessions() {
    return Map.copyOf(sessions);
  }

  @Override
  public IoServiceEventListener getIoServiceEventListener() {
    return listener;
  }

  @Override
  public void setIoServiceEventListener(IoServiceEventListener listener) {
    this.listener = listener;
  }

  @Override
  protected void preClose() {
    unbind();
    super.preClose();
  }

  // Closing the acceptor, as the server does when it stops, closes every connection it accepted.
  @Override
  protected Closeable getInnerCloseable() {
    return builder().parallel(toString(), List.copyOf(sessions.values())).build();
  }

  @Override
  public String toString() {
    return "EventLoopAcceptor" + getBoundAddresses();
  }
}
