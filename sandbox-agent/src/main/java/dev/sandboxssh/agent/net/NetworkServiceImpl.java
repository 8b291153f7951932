package dev.sandboxssh.agent.net;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.fs.PathResolver;
import dev.sandboxssh.agent.fs.PathResolver.Follow;
import dev.sandboxssh.agent.process.HandOffs;
import dev.sandboxssh.api.v1.Accepted;
import dev.sandboxssh.api.v1.DialOptions;
import dev.sandboxssh.api.v1.ListenEvent;
import dev.sandboxssh.api.v1.ListenRequest;
import dev.sandboxssh.api.v1.NetworkServiceGrpc;
import dev.sandboxssh.api.v1.SocketAddress;
import dev.sandboxssh.api.v1.TcpAddress;
import dev.sandboxssh.api.v1.TunnelFrame;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves the network rpcs of one sandbox (see network.proto): dialling out, listening, and taking
 * accepted connections, each relayed by a {@link SocketRelay}.
 *
 * <p>Unix socket paths go through the filesystem API's {@link PathResolver}, so under {@code
 * --root} they too must lie inside the sandbox.
 */
public final class NetworkServiceImpl extends NetworkServiceGrpc.NetworkServiceImplBase {
  /** Trailer naming why a dial failed: refused, unreachable, unknown-host, timeout or denied. */
  public static final Metadata.Key<String> DIAL_ERROR =
      Metadata.Key.of("dial-error", Metadata.ASCII_STRING_MARSHALLER);

  /** Dial timeout when the client gives none. */
  static final int DEFAULT_DIAL_TIMEOUT_MS = 10_000;

  /** How long an accepted connection waits for an Accept call before it is closed. */
  static final long PENDING_TTL_SECONDS = 30;

  /** Accepted-but-untaken connections across all listeners; more are closed at once. */
  static final int MAX_PENDING = 256;

  private static final int BACKLOG = 128;
  private static final int DEFAULT_SOCKET_MODE = 0600;

  private final PathResolver paths;
  private final ExecutorService pool = Executors.newCachedThreadPool(daemonThreads("agent-net"));
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(daemonThreads("agent-net-timer"));
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private volatile HandOffs handOffs;

  /** An accepted connection waiting for its Accept call. */
  private record Pending(SocketChannel channel, ScheduledFuture<?> expiry) {}

  /** Serves the sandbox that {@code config} describes. */
  public NetworkServiceImpl(AgentConfig config) {
    try {
      this.paths = new PathResolver(config.root(), config.home());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve the sandbox root " + config.root(), e);
    }
  }

  /**
   * Lets callers take connected sockets themselves ({@code TunnelFrame.hand_off}), through {@code
   * handOffs}, which the caller serves on the descriptor socket.
   */
  public void serveHandOffs(HandOffs handOffs) {
    this.handOffs = handOffs;
  }

  @Override
  public StreamObserver<TunnelFrame> dial(StreamObserver<TunnelFrame> out) {
    return new SocketRelay(out, this::connect, pool, handOffs);
  }

  @Override
  public StreamObserver<TunnelFrame> accept(StreamObserver<TunnelFrame> out) {
    return new SocketRelay(out, this::take, pool, handOffs);
  }

  private SocketChannel connect(TunnelFrame first) {
    if (!first.hasDial()) {
      throw invalid("the first frame of Dial must be `dial`, got " + first.getFrameCase());
    }
    DialOptions dial = first.getDial();
    int timeoutMs = dial.getTimeoutMs() == 0 ? DEFAULT_DIAL_TIMEOUT_MS : dial.getTimeoutMs();
    SocketAddress address = dial.getAddress();
    String target = describe(address);
    SocketChannel channel = null;
    try {
      if (address.hasTcp()) {
        TcpAddress tcp = address.getTcp();
        checkTcp(tcp, false);
        InetAddress host = InetAddress.getByName(tcp.getHost());
        channel = SocketChannel.open();
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.socket().connect(new InetSocketAddress(host, tcp.getPort()), timeoutMs);
      } else if (address.getAddressCase() == SocketAddress.AddressCase.UNIX_PATH) {
        Path path = paths.resolve(address.getUnixPath(), Follow.YES);
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(path));
      } else {
        throw invalid("dial needs a tcp address or a unix path");
      }
      return channel;
    } catch (StatusRuntimeException e) {
      closeQuietly(channel);
      throw e;
    } catch (IllegalArgumentException e) {
      closeQuietly(channel);
      throw invalid("bad address " + target + ": " + e.getMessage());
    } catch (IOException e) {
      closeQuietly(channel);
      throw dialFailure(target, e);
    }
  }

  /** A dial failure the client can map onto SSH's open-failure reasons. */
  private static StatusRuntimeException dialFailure(String target, IOException e) {
    String message = String.valueOf(e.getMessage());
    String lower = message.toLowerCase(Locale.ROOT);
    String kind;
    Status status;
    if (e instanceof SocketTimeoutException) {
      kind = "timeout";
      status = Status.DEADLINE_EXCEEDED.withDescription("timeout connecting to " + target);
    } else if (e instanceof UnknownHostException) {
      kind = "unknown-host";
      status = Status.UNAVAILABLE.withDescription("unknown host: " + target);
    } else if (e instanceof AccessDeniedException) {
      kind = "denied";
      status =
          Status.PERMISSION_DENIED.withDescription(
              "cannot connect to " + target + ": " + ((AccessDeniedException) e).getReason());
    } else if (e instanceof NoRouteToHostException || lower.contains("unreachable")) {
      kind = "unreachable";
      status = Status.UNAVAILABLE.withDescription("unreachable: " + target + ": " + message);
    } else if (e instanceof ConnectException || lower.contains("refused")) {
      kind = "refused";
      status = Status.UNAVAILABLE.withDescription("connection refused: " + target);
    } else if (lower.contains("no such file")) {
      kind = "refused";
      status = Status.UNAVAILABLE.withDescription("no socket at " + target);
    } else {
      kind = "refused";
      status = Status.UNAVAILABLE.withDescription("cannot connect to " + target + ": " + message);
    }
    Metadata trailers = new Metadata();
    trailers.put(DIAL_ERROR, kind);
    return status.asRuntimeException(trailers);
  }

  private SocketChannel take(TunnelFrame first) {
    if (first.getFrameCase() != TunnelFrame.FrameCase.ACCEPT) {
      throw invalid("the first frame of Accept must be `accept`, got " + first.getFrameCase());
    }
    Pending taken = pending.remove(first.getAccept());
    if (taken == null) {
      throw Status.NOT_FOUND
          .withDescription(
              "no pending connection "
                  + abbreviate(first.getAccept())
                  + " (unknown, already taken, or closed after "
                  + PENDING_TTL_SECONDS
                  + " s)")
          .asRuntimeException();
    }
    taken.expiry().cancel(false);
    return taken.channel();
  }

  @Override
  public void listen(ListenRequest request, StreamObserver<ListenEvent> responseObserver) {
    ServerCallStreamObserver<ListenEvent> out =
        (ServerCallStreamObserver<ListenEvent>) responseObserver;
    SocketAddress address = request.getAddress();
    String where = describe(address);
    ServerSocketChannel server;
    Path socketFile = null;
    try {
      if (address.hasTcp()) {
        checkTcp(address.getTcp(), true);
        String host = address.getTcp().getHost();
        server = ServerSocketChannel.open();
        // As any server: a port in TIME_WAIT from an earlier listener can be bound again.
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        InetSocketAddress bind =
            host.isEmpty()
                ? new InetSocketAddress(address.getTcp().getPort())
                : new InetSocketAddress(InetAddress.getByName(host), address.getTcp().getPort());
        bindOrClose(server, bind);
      } else if (address.getAddressCase() == SocketAddress.AddressCase.UNIX_PATH) {
        socketFile = paths.resolve(address.getUnixPath(), Follow.NO);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        bindOrClose(server, UnixDomainSocketAddress.of(socketFile));
        // chmod(2) follows symlinks (Linux has no lchmod, and fchmod cannot open a socket), so
        // a sandbox process swapping the socket for a symlink right after bind could redirect
        // it; such a process runs as the same user as the agent and could chmod that file
        // itself, so nothing is gained by it.
        int mode = request.getMode() == 0 ? DEFAULT_SOCKET_MODE : request.getMode() & 0777;
        Files.setAttribute(socketFile, "unix:mode", mode);
      } else {
        throw invalid("listen needs a tcp address or a unix path");
      }
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (IllegalArgumentException e) {
      out.onError(invalid("bad address " + where + ": " + e.getMessage()));
      return;
    } catch (IOException e) {
      out.onError(bindFailure(where, e));
      return;
    }
    Listener listener = new Listener(server, socketFile, out);
    out.setOnReadyHandler(listener::wake);
    out.setOnCancelHandler(listener::close);
    try {
      out.onNext(
          ListenEvent.newBuilder()
              .setListening(Addresses.toProto(server.getLocalAddress()))
              .build());
    } catch (IOException e) {
      listener.close();
      out.onError(Status.INTERNAL.withDescription("listener closed at once").asRuntimeException());
      return;
    }
    pool.execute(listener::acceptLoop);
  }

  private static void bindOrClose(ServerSocketChannel server, java.net.SocketAddress address)
      throws IOException {
    try {
      server.bind(address, BACKLOG);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  private static StatusRuntimeException bindFailure(String where, IOException e) {
    String message = String.valueOf(e.getMessage());
    String lower = message.toLowerCase(Locale.ROOT);
    if (e instanceof AccessDeniedException denied) {
      return Status.PERMISSION_DENIED
          .withDescription("cannot listen on " + where + ": " + denied.getReason())
          .asRuntimeException();
    }
    if (lower.contains("in use")) {
      return Status.ALREADY_EXISTS
          .withDescription("address already in use: " + where)
          .asRuntimeException();
    }
    if (lower.contains("permission denied")) {
      return Status.PERMISSION_DENIED
          .withDescription("cannot listen on " + where + ": " + message)
          .asRuntimeException();
    }
    if (e instanceof BindException || e instanceof UnknownHostException) {
      return Status.INVALID_ARGUMENT
          .withDescription("cannot listen on " + where + ": " + message)
          .asRuntimeException();
    }
    return Status.UNAVAILABLE
        .withDescription("cannot listen on " + where + ": " + message)
        .asRuntimeException();
  }

  /** One Listen call: accepts connections while the client is ready for the events. */
  private final class Listener {
    private final ServerSocketChannel server;
    private final Path socketFile;
    private final ServerCallStreamObserver<ListenEvent> out;
    private boolean closed;

    Listener(
        ServerSocketChannel server, Path socketFile, ServerCallStreamObserver<ListenEvent> out) {
      this.server = server;
      this.socketFile = socketFile;
      this.out = out;
    }

    void acceptLoop() {
      try {
        while (true) {
          // Not ready: the client is behind on events, so leave connections in the backlog.
          synchronized (this) {
            while (!closed && !out.isReady()) {
              wait(1000);
            }
            if (closed) {
              return;
            }
          }
          SocketChannel channel = server.accept();
          offer(channel);
        }
      } catch (IOException e) {
        synchronized (this) {
          if (closed) {
            return;
          }
        }
        close();
        out.onError(
            Status.UNAVAILABLE
                .withDescription("listener failed: " + e.getMessage())
                .asRuntimeException());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        close();
      }
    }

    private void offer(SocketChannel channel) throws IOException {
      if (pending.size() >= MAX_PENDING) {
        // Nobody is taking connections: refuse rather than hoard descriptors.
        closeQuietly(channel);
        return;
      }
      String id = HexFormat.of().formatHex(randomBytes());
      ScheduledFuture<?> expiry =
          timer.schedule(
              () -> {
                Pending stale = pending.remove(id);
                if (stale != null) {
                  closeQuietly(stale.channel());
                }
              },
              PENDING_TTL_SECONDS,
              TimeUnit.SECONDS);
      pending.put(id, new Pending(channel, expiry));
      synchronized (this) {
        if (closed) {
          return;
        }
        out.onNext(
            ListenEvent.newBuilder()
                .setAccepted(
                    Accepted.newBuilder()
                        .setConnectionId(id)
                        .setRemote(Addresses.toProto(channel.getRemoteAddress())))
                .build());
      }
    }

    synchronized void wake() {
      notifyAll();
    }

    /** Stops listening and removes the socket file; accepted connections are left alone. */
    void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        notifyAll();
      }
      closeQuietly(server);
      if (socketFile != null) {
        try {
          Files.deleteIfExists(socketFile);
        } catch (IOException e) {
          // A stale socket file is harmless: the next bind to it fails clearly.
        }
      }
    }
  }

  private byte[] randomBytes() {
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    return bytes;
  }

  private static void checkTcp(TcpAddress tcp, boolean listening) {
    if (tcp.getPort() > 65535 || (!listening && tcp.getPort() == 0)) {
      throw invalid("port out of range: " + tcp.getPort());
    }
    if (!listening && tcp.getHost().isEmpty()) {
      throw invalid("dial needs a host");
    }
    if (tcp.getHost().length() > 255) {
      throw invalid("host name longer than 255 characters");
    }
  }

  private static String describe(SocketAddress address) {
    return switch (address.getAddressCase()) {
      case TCP -> abbreviate(address.getTcp().getHost()) + ":" + address.getTcp().getPort();
      case UNIX_PATH -> "unix:" + abbreviate(address.getUnixPath());
      default -> "(no address)";
    };
  }

  private static String abbreviate(String text) {
    return text.length() > 256 ? text.substring(0, 256) + "..." : text;
  }

  private static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  private static void closeQuietly(java.io.Closeable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (IOException e) {
      // Nothing more to release.
    }
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
