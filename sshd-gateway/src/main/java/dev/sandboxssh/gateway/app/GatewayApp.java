package dev.sandboxssh.gateway.app;

import dev.sandboxssh.gateway.config.ConfigException;
import dev.sandboxssh.gateway.config.DataDir;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.ops.Operations;
import dev.sandboxssh.gateway.routing.IsolatedAgentLauncher;
import dev.sandboxssh.gateway.routing.KubernetesSandboxProvider;
import dev.sandboxssh.gateway.routing.LocalSandboxProvider;
import dev.sandboxssh.gateway.routing.RemoteSandboxProvider;
import dev.sandboxssh.gateway.routing.SandboxProvider;
import dev.sandboxssh.gateway.routing.SandboxResolver;
import dev.sandboxssh.gateway.routing.kubernetes.PodException;
import dev.sandboxssh.gateway.routing.kubernetes.SandboxPods;
import dev.sandboxssh.gateway.server.AlgorithmPolicy;
import dev.sandboxssh.gateway.server.GatewayServer;
import dev.sandboxssh.gateway.store.FirstStart;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.OwnershipStores;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires a gateway together from its config: operations (metrics, health, audit), store, providers,
 * SSH server; and stops it, at once or after a drain.
 */
public final class GatewayApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayApp.class);

  private final GatewayConfig config;
  private final OwnershipStore store;
  private final ScheduledExecutorService scheduler;
  private final IsolatedAgentLauncher launcher;
  private final DataDir dataDir;
  private final LocalSandboxProvider local;
  private final SandboxResolver resolver;
  private final GatewayServer server;
  private final Operations ops;
  private volatile boolean draining;
  private final AtomicBoolean closed = new AtomicBoolean();

  private GatewayApp(GatewayConfig config) throws IOException {
    this.config = config;
    // First, so that a bad kubeconfig stops the start before anything is opened. Only a gateway
    // configured for pods loads the Kubernetes client (not even its classes otherwise).
    KubernetesSandboxProvider kubernetes =
        config.kubernetes().enabled() ? kubernetesProvider(config) : null;
    this.dataDir = new DataDir(config.dataDir()).create();
    this.ops = Operations.create(config);
    this.store = OwnershipStores.open(config);
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gateway-scheduler");
              t.setDaemon(true);
              return t;
            });
    this.launcher = IsolatedAgentLauncher.probe(config.local());
    // Under run/ but not a sandbox's run dir: ".agent" is no DNS label.
    launcher.useAgentJar(dataDir.run().resolve(".agent"));
    launcher.watchLimits(scheduler);
    this.local =
        new LocalSandboxProvider(
            dataDir,
            launcher,
            config.agent().connectTimeout(),
            config.local().idleTimeout(),
            scheduler,
            ops.events(),
            config.local().spareAgents(),
            config.local().idmappedHomes(),
            config.local().uidRange(),
            config.local().agentStarts());
    ops.watchRunningAgents("local", local::runningAgents);
    Map<SandboxRecord.Provider, SandboxProvider> providers =
        new EnumMap<>(SandboxRecord.Provider.class);
    providers.put(SandboxRecord.Provider.LOCAL, local);
    providers.put(
        SandboxRecord.Provider.REMOTE,
        RemoteSandboxProvider.agents(config.agent().connectTimeout()));
    providers.put(
        SandboxRecord.Provider.E2B, RemoteSandboxProvider.envds(config.agent().connectTimeout()));
    if (kubernetes != null) {
      providers.put(SandboxRecord.Provider.KUBERNETES, kubernetes);
      ops.watchRunningAgents("kubernetes", kubernetes::connectedAgents);
    }
    this.resolver = new SandboxResolver(providers, ops.events());
    this.server =
        new GatewayServer(GatewayServer.defaultSshServer(), config, store, resolver, ops.events());
  }

  private static KubernetesSandboxProvider kubernetesProvider(GatewayConfig config) {
    try {
      return new KubernetesSandboxProvider(
          SandboxPods.connect(config.kubernetes(), config.agent().connectTimeout()),
          config.agent().connectTimeout());
    } catch (PodException e) {
      throw new ConfigException(List.of(e.getMessage()));
    }
  }

  /** Builds and starts a gateway; the caller closes it. */
  public static GatewayApp start(GatewayConfig config) throws IOException {
    GatewayApp app = new GatewayApp(config);
    try {
      // Before the SSH port: /healthz answers during the start, and /readyz says 503 until it.
      app.ops.serveHttp(app.readiness());
      app.server.start();
    } catch (IOException | RuntimeException e) {
      app.close();
      throw e;
    }
    log.info(
        "gateway listening on {}:{}; local sandboxes: {}; chacha20-poly1305 on {}",
        config.host(),
        app.port(),
        app.launcher.describe(),
        AlgorithmPolicy.chacha20Poly1305Implementation());
    String mode =
        config.local().isolation() == GatewayConfig.Isolation.REQUIRED
            ? "local.isolation is required: local sandboxes will not start"
            : "local sandboxes get less isolation";
    for (String missing : app.launcher.missing()) {
      log.warn("{}: {}", mode, missing);
    }
    // Under run/ but not a sandbox's run dir: ".aot" is no DNS label.
    // Spares after the cache: one started before it would run without it for its whole life.
    Thread cache =
        new Thread(
            () -> {
              app.launcher.prepareStartupCache(app.dataDir.run().resolve(".aot"));
              app.local.startSpares();
            },
            "agent-startup-cache");
    cache.setDaemon(true);
    cache.start();
    return app;
  }

  /** Starts the gateway described by {@code config} and blocks until the JVM stops. */
  public static int run(GatewayConfig config) throws Exception {
    IdleMemory.configure();
    GatewayApp app = start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  // SIGTERM: no new connections, open sessions get shutdown.grace to finish.
                  app.shutdown();
                  stopped.countDown();
                },
                "gateway-shutdown"));
    // The port actually bound goes into the printed ssh line.
    FirstStart.bootstrapIfEmpty(
            app.store, Path.of(System.getProperty("user.home")), config.host(), app.port())
        .ifPresent(System.out::println);
    System.out.flush();
    stopped.await();
    return 0;
  }

  /** The port the gateway listens on. */
  public int port() {
    return server.port();
  }

  /** The ownership table this gateway reads. */
  public OwnershipStore store() {
    return store;
  }

  /** The operations port (metrics, health), or -1 when {@code metrics.port} is 0. */
  public int metricsPort() {
    return ops.port();
  }

  /** What {@code /readyz} asks: the SSH port accepting, and a cheap query of the store. */
  private Operations.Readiness readiness() {
    return new Operations.Readiness() {
      @Override
      public boolean listening() {
        return server.isAccepting();
      }

      @Override
      public boolean draining() {
        return draining;
      }

      @Override
      public void queryStore() {
        // A query that always reaches the database: lookups by name may be answered from a cache.
        store.isEmpty();
      }
    };
  }

  /**
   * Stops accepting connections, then waits up to {@code grace} for the open ones to end; those
   * left are disconnected with a message. Named sessions live on in their agents (see {@link
   * #close}). Returns how many connections had to be disconnected.
   */
  public int drain(Duration grace) {
    draining = true;
    server.stopAccepting();
    int open = server.openConnections();
    log.info(
        "draining: no new connections; {} open connection(s) get up to {} s to finish",
        open,
        grace.toSeconds());
    long deadline = System.nanoTime() + grace.toNanos();
    while (server.openConnections() > 0 && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    int left = server.openConnections();
    if (left > 0) {
      log.info("drain: disconnecting {} connection(s) still open", left);
      server.disconnectAll("gateway is shutting down");
      // The disconnect messages go out before the server closes the sockets.
      long flush = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (server.openConnections() > 0 && System.nanoTime() - flush < 0) {
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    return left;
  }

  /** What SIGTERM does: {@link #drain} for {@code shutdown.grace}, then {@link #close}. */
  public void shutdown() {
    try {
      drain(config.shutdown().grace());
    } finally {
      close();
    }
  }

  /** The local provider, for tests that watch agents start and stop. */
  public LocalSandboxProvider localProvider() {
    return local;
  }

  /**
   * Stops the server, then every agent it started (but those holding named sessions, which outlive
   * it), then the store; only the first call does anything (a shutdown hook and a caller may both).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      server.close();
    } catch (IOException e) {
      log.warn("closing the SSH server: {}", e.toString());
    }
    resolver.close();
    scheduler.shutdownNow();
    store.close();
    ops.close();
  }
}
