package dev.sandboxssh.sdk;

import dev.sandboxssh.api.v1.DialOptions;
import dev.sandboxssh.api.v1.ListenRequest;
import dev.sandboxssh.api.v1.SocketAddress;
import dev.sandboxssh.api.v1.TcpAddress;
import dev.sandboxssh.api.v1.TunnelFrame;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * TCP and unix-socket tunnels from inside one sandbox: what SSH port forwarding is relayed through.
 * "127.0.0.1" always means the sandbox's own loopback.
 *
 * <p>Failures to connect are the {@code java.net} exceptions SSH open-failure reasons map from:
 * {@link java.net.ConnectException} (refused), {@link java.net.NoRouteToHostException}
 * (unreachable), {@link java.net.UnknownHostException}, {@link java.net.SocketTimeoutException},
 * {@link java.nio.file.AccessDeniedException} (a unix path outside the sandbox root), and {@link
 * java.net.BindException} for a listen address in use; an unreachable agent is the unchecked {@link
 * SandboxUnavailableException}.
 */
public final class Network {
  /** Dial timeout of the methods that take none. */
  public static final Duration DEFAULT_DIAL_TIMEOUT = Duration.ofSeconds(10);

  /** How much longer than the dial timeout the SDK waits for the agent's answer. */
  private static final Duration AGENT_SLACK = Duration.ofSeconds(10);

  // Shared by every sandbox: callbacks of one tunnel or listener run serially on these threads.
  private static final ExecutorService CALLBACKS =
      Executors.newCachedThreadPool(daemonThreads("sandbox-tunnel"));
  private static final ScheduledExecutorService TIMER =
      Executors.newSingleThreadScheduledExecutor(daemonThreads("sandbox-tunnel-timer"));

  private final AgentStubs stubs;
  private volatile SocketTaker taker;

  Network(AgentStubs stubs) {
    this.stubs = stubs;
  }

  /**
   * From now on asks the agent to hand each dialled or accepted socket over, and serves those it
   * hands over with {@code taker}, so their bytes skip the agent; sockets it keeps are relayed as
   * before. For a caller on the agent's own host.
   */
  public void handOffTo(SocketTaker taker) {
    this.taker = taker;
  }

  /** Connects to {@code host:port} from inside the sandbox, blocking until connected. */
  public Tunnel dial(String host, int port, TunnelHandler handler) throws IOException {
    return dial(host, port, DEFAULT_DIAL_TIMEOUT, handler);
  }

  /** Connects to {@code host:port} from inside the sandbox, giving up after {@code timeout}. */
  public Tunnel dial(String host, int port, Duration timeout, TunnelHandler handler)
      throws IOException {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    SocketAddress address = tcp(host, port);
    return dialTo(host + ":" + port, address, timeout, handler);
  }

  /** Connects to the unix socket at {@code path} inside the sandbox. */
  public Tunnel dialUnix(String path, TunnelHandler handler) throws IOException {
    SocketAddress address = SocketAddress.newBuilder().setUnixPath(path).build();
    return dialTo("unix:" + path, address, DEFAULT_DIAL_TIMEOUT, handler);
  }

  private Tunnel dialTo(String target, SocketAddress address, Duration timeout, TunnelHandler h)
      throws IOException {
    SocketTaker t = taker;
    TunnelFrame dial =
        TunnelFrame.newBuilder()
            .setDial(
                DialOptions.newBuilder()
                    .setAddress(address)
                    .setTimeoutMs((int) Math.min(Integer.MAX_VALUE, timeout.toMillis())))
            .setHandOff(t != null)
            .build();
    return GrpcTunnel.open(
        target, dial, timeout.plus(AGENT_SLACK), h, CALLBACKS, TIMER, stubs::dial, t);
  }

  /**
   * Listens on {@code host:port} inside the sandbox (port 0: any free port, see {@link
   * TunnelListener#port}; host "" for every interface), blocking until bound.
   */
  public TunnelListener listen(String host, int port, AcceptHandler onAccept) throws IOException {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
    return listenOn(host + ":" + port, tcp(host, port), 0, onAccept);
  }

  /**
   * Listens on a unix socket at {@code path} inside the sandbox, the file getting permission bits
   * {@code mode} (0 = 0600); the file is removed when the listener closes.
   */
  public TunnelListener listenUnix(String path, int mode, AcceptHandler onAccept)
      throws IOException {
    SocketAddress address = SocketAddress.newBuilder().setUnixPath(path).build();
    return listenOn("unix:" + path, address, mode, onAccept);
  }

  private TunnelListener listenOn(
      String where, SocketAddress address, int mode, AcceptHandler onAccept) throws IOException {
    GrpcTunnelListener listener = new GrpcTunnelListener(where, onAccept, this::take, CALLBACKS);
    stubs
        .networkAsync()
        .listen(ListenRequest.newBuilder().setAddress(address).setMode(mode).build(), listener);
    listener.awaitBound();
    return listener;
  }

  private Tunnel take(String id, java.net.SocketAddress remote, TunnelHandler handler)
      throws IOException {
    SocketTaker t = taker;
    TunnelFrame accept = TunnelFrame.newBuilder().setAccept(id).setHandOff(t != null).build();
    return GrpcTunnel.open(
        "connection from " + remote,
        accept,
        AGENT_SLACK,
        handler,
        CALLBACKS,
        TIMER,
        stubs::accept,
        t);
  }

  private static SocketAddress tcp(String host, int port) {
    return SocketAddress.newBuilder()
        .setTcp(TcpAddress.newBuilder().setHost(host).setPort(port))
        .build();
  }

  /** The Java form of an address the agent reported. */
  static java.net.SocketAddress toJava(SocketAddress address) {
    if (address.hasTcp()) {
      TcpAddress tcp = address.getTcp();
      try {
        // The agent reports numeric addresses: no name lookup happens here.
        return new InetSocketAddress(InetAddress.getByName(tcp.getHost()), tcp.getPort());
      } catch (UnknownHostException e) {
        return InetSocketAddress.createUnresolved(tcp.getHost(), tcp.getPort());
      }
    }
    return UnixDomainSocketAddress.of(address.getUnixPath());
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
