package dev.sandboxssh.gateway.e2e;

import dev.sandboxssh.gateway.app.GatewayApp;
import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts a gateway in this JVM whose local agents run from the packaged jar, as the agents of a
 * gateway started from that jar do, and map one agent start-up cache made for all of them.
 *
 * <p>A gateway starts its local agents on its own classpath: {@code java.class.path} as it reads it
 * when it starts. In this JVM that is the test classpath, some 150 jars and class directories, each
 * bound into every sandbox (half of a confined agent's 2.4 s start here), and a classpath with
 * directories gets no start-up cache. The packaged jar holds the same agent in one file. So the
 * property names that jar while the gateway starts; nothing else in this JVM reads it meanwhile, as
 * tests start gateways from their own thread, one at a time.
 *
 * <p>A gateway makes the start-up cache when it starts (local.startup-cache, on by default): a
 * training run of seconds of CPU. The cache is named after the java binary and the agent's
 * classpath, the same for every gateway here, so the packaged gateway trains it once for this JVM,
 * as it does when it starts, and each gateway here finds it (linked) where it keeps its own.
 */
final class PackagedAgents {
  /** The trained cache; null before the first start, or when the training made none. */
  private static Path cache;

  private static boolean trained;

  private PackagedAgents() {}

  /**
   * Starts the gateway {@code config} describes, its agents from the packaged jar and, when there
   * is a trained cache, with the start-up cache on and that cache in its data dir.
   */
  static synchronized GatewayApp start(GatewayConfig config) throws IOException {
    if (!Files.isRegularFile(PackagedGateway.JAR)) {
      // Not packaged (a test run from an IDE): agents on the test classpath, without a cache.
      return GatewayApp.start(config);
    }
    if (!trained) {
      trained = true;
      cache = train();
    }
    GatewayConfig c = config;
    if (cache != null) {
      Path dir = Files.createDirectories(config.dataDir().resolve("run").resolve(".aot"));
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      Path copy = dir.resolve(cache.getFileName());
      if (!Files.exists(copy)) {
        // A link: the gateway only reads it, and each data dir is deleted after its test.
        Files.createLink(copy, cache);
      }
      c = config.withLocal(config.local().withStartupCache(true));
    }
    String testClasspath = System.getProperty("java.class.path");
    System.setProperty("java.class.path", PackagedGateway.JAR.toString());
    try {
      return GatewayApp.start(c);
    } finally {
      System.setProperty("java.class.path", testClasspath);
    }
  }

  /**
   * Runs the packaged gateway with the start-up cache on, on a data dir of its own, and returns a
   * copy of the cache it trained (read-only, as the gateway leaves it), or null if none came. The
   * data dir is under /tmp: the training agent's socket lies five levels below it, and a unix
   * socket path has at most 107 bytes.
   */
  private static Path train() throws IOException {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "aot");
    try {
      Path aot = dir.resolve("data").resolve("run").resolve(".aot");
      Path config =
          Files.writeString(dir.resolve("gateway.yaml"), "local:\n  startup-cache: true\n");
      Process gateway;
      try {
        gateway = PackagedGateway.serve(dir, dir.resolve("data"), config).process();
      } catch (Exception | AssertionError e) {
        return null;
      }
      try {
        long deadline = System.nanoTime() + Timeouts.TRANSFER.toNanos();
        while (System.nanoTime() < deadline && gateway.isAlive()) {
          List<Path> made = caches(aot);
          if (!made.isEmpty()) {
            // One place per build dir, emptied first: no run leaves a cache behind for the next.
            Path keep = Path.of(System.getProperty("java.io.tmpdir"), "agent-startup-cache");
            if (Files.exists(keep)) {
              deleteTree(keep);
            }
            Path kept = Files.createDirectories(keep).resolve(made.get(0).getFileName());
            Files.copy(made.get(0), kept, StandardCopyOption.COPY_ATTRIBUTES);
            return kept;
          }
          Thread.sleep(100);
        }
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      } finally {
        stop(gateway);
      }
    } finally {
      deleteTree(dir);
    }
  }

  private static void stop(Process gateway) {
    gateway.destroy();
    try {
      if (!gateway.waitFor(Timeouts.EVENTUALLY.toSeconds(), TimeUnit.SECONDS)) {
        gateway.destroyForcibly();
      }
    } catch (InterruptedException e) {
      gateway.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The finished caches in {@code dir} (a cache being written ends in .partial). */
  private static List<Path> caches(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".aot")).toList();
    }
  }
}
