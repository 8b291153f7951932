package dev.sandboxssh.gateway.app;

import dev.sandboxssh.gateway.config.ConfigException;
import dev.sandboxssh.gateway.config.DataDir;
import dev.sandboxssh.gateway.config.GatewayConfig;
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
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires a gateway together from its config: store, providers, SSH server. */
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

  private GatewayApp(GatewayConfig config) throws IOException {
    this.config = config;
    // First, so that a bad kubeconfig stops the start before anything is opened. Only a gateway
    // configured for pods loads the Kubernetes client (not even its classes otherwise).
    SandboxProvider kubernetes = config.kubernetes().enabled() ? kubernetesProvider(config) : null;
    this.dataDir = new DataDir(config.dataDir()).create();
    this.store = OwnershipStores.open(config);
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "gateway-scheduler");
              t.setDaemon(true);
              return t;
            });
    this.launcher = IsolatedAgentLauncher.probe(config.local());
    launcher.watchLimits(scheduler);
    this.local =
        new LocalSandboxProvider(
            dataDir,
            launcher,
            config.agent().connectTimeout(),
            config.local().idleTimeout(),
            scheduler);
    Map<SandboxRecord.Provider, SandboxProvider> providers =
        new EnumMap<>(SandboxRecord.Provider.class);
    providers.put(SandboxRecord.Provider.LOCAL, local);
    providers.put(
        SandboxRecord.Provider.REMOTE, new RemoteSandboxProvider(config.agent().connectTimeout()));
    if (kubernetes != null) {
      providers.put(SandboxRecord.Provider.KUBERNETES, kubernetes);
    }
    this.resolver = new SandboxResolver(providers);
    this.server = new GatewayServer(GatewayServer.defaultSshServer(), config, store, resolver);
  }

  private static SandboxProvider kubernetesProvider(GatewayConfig config) {
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
    Thread cache =
        new Thread(
            () -> app.launcher.prepareStartupCache(app.dataDir.run().resolve(".aot")),
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
                  app.close();
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

  /** The local provider, for tests that watch agents start and stop. */
  public LocalSandboxProvider localProvider() {
    return local;
  }

  /** Stops the server, then every agent it started, then the store. */
  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      log.warn("closing the SSH server: {}", e.toString());
    }
    resolver.close();
    scheduler.shutdownNow();
    store.close();
  }
}
