package dev.sandboxssh.sdk.envd;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent API of one sandbox, served in this process by calling that sandbox's envd (E2B's
 * in-sandbox daemon, or an agent's {@code --envd-listen} face): the SDK's {@code Sandbox} talks to
 * it over an in-process channel as to any agent. Process and filesystem calls are translated (see
 * {@link EnvdProcessService} and {@link EnvdFilesystemService}); envd has no tunnels, so every dial
 * and listen is refused (see {@link EnvdNetworkService}).
 */
public final class EnvdAgent implements AutoCloseable {
  private static final AtomicInteger SERVERS = new AtomicInteger();

  private final Server server;
  private final ManagedChannel channel;
  private final ExecutorService calls;
  private final ExecutorService pumps;
  private final ScheduledExecutorService timer;

  private EnvdAgent(
      Server server,
      ManagedChannel channel,
      ExecutorService calls,
      ExecutorService pumps,
      ScheduledExecutorService timer) {
    this.server = server;
    this.channel = channel;
    this.calls = calls;
    this.pumps = pumps;
    this.timer = timer;
  }

  /**
   * Serves the agent API for the envd at {@code url} ({@code http(s)://HOST[:PORT]}), which takes
   * {@code token} as its access token; each unary envd call may take {@code callTimeout}.
   */
  public static EnvdAgent start(URI url, String token, Duration callTimeout) {
    String name = "envd-" + SERVERS.incrementAndGet() + "-" + url.getHost();
    ExecutorService calls = Executors.newCachedThreadPool(daemon(name + "-call"));
    ExecutorService pumps = Executors.newCachedThreadPool(daemon(name + "-pump"));
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(daemon(name + "-timer"));
    EnvdHttp http = new EnvdHttp(url, token, callTimeout, pumps);
    EnvdShell shell = new EnvdShell(http, callTimeout);
    Server server;
    try {
      server =
          InProcessServerBuilder.forName(name)
              .executor(calls)
              .addService(new EnvdProcessService(http, shell, pumps, timer, callTimeout))
              .addService(new EnvdFilesystemService(http, shell, pumps, callTimeout))
              .addService(new EnvdNetworkService())
              .addService(new Health(http, callTimeout))
              .build()
              .start();
    } catch (IOException e) {
      calls.shutdownNow();
      pumps.shutdownNow();
      timer.shutdownNow();
      throw new UncheckedIOException(e);
    }
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    return new EnvdAgent(server, channel, calls, pumps, timer);
  }

  /** The channel to the translated API. */
  public ManagedChannel channel() {
    return channel;
  }

  /** Stops serving; processes started in the sandbox keep running, as envd keeps them. */
  @Override
  public void close() {
    channel.shutdownNow();
    server.shutdownNow();
    calls.shutdownNow();
    pumps.shutdownNow();
    timer.shutdownNow();
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * SERVING when envd answers {@code /health} and accepts the token (one listing); its failure as
   * the status the agent's own health check would give (UNAVAILABLE, UNAUTHENTICATED).
   */
  private static final class Health extends HealthGrpc.HealthImplBase {
    private final EnvdHttp http;
    private final Duration timeout;

    Health(EnvdHttp http, Duration timeout) {
      this.http = http;
      this.timeout = timeout;
    }

    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> observer) {
      try {
        http.health(timeout);
        http.list(timeout);
      } catch (StatusRuntimeException e) {
        observer.onError(e);
        return;
      }
      observer.onNext(
          HealthCheckResponse.newBuilder()
              .setStatus(HealthCheckResponse.ServingStatus.SERVING)
              .build());
      observer.onCompleted();
    }
  }
}
