package dev.sandboxssh.agent;

import dev.sandboxssh.agent.envd.EnvdServer;
import dev.sandboxssh.agent.fs.FilesystemServiceImpl;
import dev.sandboxssh.agent.net.NetworkServiceImpl;
import dev.sandboxssh.agent.process.HandOffs;
import dev.sandboxssh.agent.process.ProcessServiceImpl;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.NetworkServiceGrpc;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import dev.sandboxssh.api.v1.TunnelFrame;
import dev.sandboxssh.grpc.AliasingMarshaller;
import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.ServerTransportFilter;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's gRPC server: process, filesystem and network services behind the token check, and the
 * standard health service.
 *
 * <p>It takes a {@link ServerBuilder} so that tests can run it in-process; {@link #listen} builds
 * the real one for a TCP address or a unix socket.
 */
public final class AgentServer implements AutoCloseable {
  private final Server server;
  private final ProcessServiceImpl processes;
  private final NetworkServiceImpl network;
  private final FilesystemServiceImpl files;
  private final HealthStatusManager health = new HealthStatusManager();
  private final EventLoopGroup[] eventLoops;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicInteger connections = new AtomicInteger();

  /** How long a stopping agent lets calls finish before it cuts them. */
  private static final Duration SHUTDOWN_GRACE = Duration.ofMillis(500);

  private volatile DescriptorServer descriptors;
  private final AgentConfig config;
  private final TokenAuthInterceptor auth;
  private volatile Server inProcess;
  private volatile ManagedChannel inProcessChannel;
  private volatile EnvdServer envd;

  private AgentServer(ServerBuilder<?> builder, AgentConfig config, EventLoopGroup... loops)
      throws IOException {
    this.config = config;
    this.auth = new TokenAuthInterceptor(config.token());
    this.processes = new ProcessServiceImpl(config);
    this.network = new NetworkServiceImpl(config);
    this.files = new FilesystemServiceImpl(config);
    this.eventLoops = loops;
    this.server =
        builder
            // Input chunks parsed as views of the received message: one copy fewer per byte.
            .addService(
                AliasingMarshaller.forRequests(
                    ServerInterceptors.intercept(processes, auth),
                    ProcessServiceGrpc.getStreamInputMethod(),
                    InputRequest.getDefaultInstance()))
            .addService(ServerInterceptors.intercept(files, auth))
            .addService(
                AliasingMarshaller.forRequests(
                    AliasingMarshaller.forRequests(
                        ServerInterceptors.intercept(network, auth),
                        NetworkServiceGrpc.getDialMethod(),
                        TunnelFrame.getDefaultInstance()),
                    NetworkServiceGrpc.getAcceptMethod(),
                    TunnelFrame.getDefaultInstance()))
            // Health answers without a token: it reveals nothing but "serving".
            .addService(health.getHealthService())
            .addTransportFilter(
                new ServerTransportFilter() {
                  @Override
                  public Attributes transportReady(Attributes attributes) {
                    connections.incrementAndGet();
                    return attributes;
                  }

                  @Override
                  public void transportTerminated(Attributes attributes) {
                    connections.decrementAndGet();
                  }
                })
            .build()
            .start();
    health.setStatus("", ServingStatus.SERVING);
  }

  /** Starts an agent on a builder the caller made (in-process in tests). */
  public static AgentServer start(ServerBuilder<?> builder, AgentConfig config) throws IOException {
    return new AgentServer(builder, config);
  }

  /** Starts an agent listening on a TCP address or unix socket. */
  public static AgentServer listen(ListenAddress address, AgentConfig config) throws IOException {
    if (address instanceof ListenAddress.Unix unix) {
      // A stale socket file from an earlier agent would make bind fail.
      Files.deleteIfExists(unix.path());
      EventLoopGroup boss = new EpollEventLoopGroup(1);
      EventLoopGroup workers = new EpollEventLoopGroup();
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(address.toSocketAddress())
              .channelType(EpollServerDomainSocketChannel.class)
              .bossEventLoopGroup(boss)
              .workerEventLoopGroup(workers);
      AgentServer server = new AgentServer(tuned(builder), config, boss, workers);
      // Only the agent's own user may connect; the token is the second lock.
      Files.setPosixFilePermissions(
          unix.path(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      try {
        HandOffs handOffs = server.processes.serveHandOffs();
        server.network.serveHandOffs(handOffs);
        server.files.serveHandOffs(handOffs);
        server.descriptors =
            DescriptorServer.listen(DescriptorServer.beside(unix.path()), handOffs, boss);
      } catch (IOException e) {
        server.close();
        throw e;
      }
      return server;
    }
    return new AgentServer(tuned(NettyServerBuilder.forAddress(address.toSocketAddress())), config);
  }

  private static NettyServerBuilder tuned(NettyServerBuilder builder) {
    return builder
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .maxInboundMessageSize(4 * 1024 * 1024);
  }

  /**
   * Also serves E2B's envd API (Connect over HTTP/1.1) on {@code address}, on this agent's own
   * process and filesystem services; returns the port bound.
   */
  public synchronized int serveEnvd(InetSocketAddress address) throws IOException {
    if (envd != null) {
      throw new IllegalStateException("envd face already served");
    }
    // The same service objects behind the same token check, reached in-process: one process
    // table and one filesystem view for both faces, and no second path around the token.
    String name = InProcessServerBuilder.generateName();
    inProcess =
        InProcessServerBuilder.forName(name)
            .addService(ServerInterceptors.intercept(processes, auth))
            .addService(ServerInterceptors.intercept(files, auth))
            .build()
            .start();
    Metadata bearer = new Metadata();
    bearer.put(TokenAuthInterceptor.AUTHORIZATION, "Bearer " + config.token());
    inProcessChannel =
        InProcessChannelBuilder.forName(name)
            .intercept(MetadataUtils.newAttachHeadersInterceptor(bearer))
            .build();
    envd = EnvdServer.start(address, config.token(), inProcessChannel, config.home());
    return envd.port();
  }

  /** The TCP port bound, or -1 for a unix socket or in-process server. */
  public int port() {
    return server.getListenSockets().stream()
        .filter(InetSocketAddress.class::isInstance)
        .mapToInt(a -> ((InetSocketAddress) a).getPort())
        .findFirst()
        .orElse(-1);
  }

  /**
   * Whether an agent whose parent went away may stop: no named session (tagged process) runs, and
   * no client is connected (a gateway that took the agent over holds a connection while it uses
   * it).
   */
  public boolean mayStopOrphaned() {
    return connections.get() == 0 && !holdsNamedSessions();
  }

  /** Whether a named session (tagged process) still runs. */
  public boolean holdsNamedSessions() {
    return processes.holdsTaggedProcesses();
  }

  /** Blocks until the server terminates. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops accepting calls, kills every process the agent started, and frees the socket. */
  @Override
  public void close() {
    // Called at stdin EOF and again by the shutdown hook that System.exit runs; the second call
    // would have gRPC log "Already terminating" with a stack trace.
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    health.enterTerminalState();
    if (envd != null) {
      envd.close();
    }
    if (descriptors != null) {
      descriptors.close();
    }
    processes.shutdown();
    server.shutdown();
    try {
      // Long enough for the end events of the processes just killed to go out; the streams
      // still open after it (tunnels, idle watchers) belong to callers that are going away too.
      if (!server.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    if (inProcess != null) {
      inProcessChannel.shutdownNow();
      inProcess.shutdownNow();
    }
    for (EventLoopGroup loop : eventLoops) {
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
