package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.routing.unix.SocketHandle;
import dev.sandboxssh.gateway.routing.unix.UnixDescriptorSocket;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Comparator;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An AOT cache of the agent's start-up (JDK 25: classes loaded and linked ahead, JEP 483 and 514),
 * which confined agents map read-only.
 *
 * <p>It is made by one training run: an agent started in a sandbox of its own with {@code
 * -XX:AOTCacheOutput}, stopped once it listens. Never in a user's sandbox: every later agent maps
 * the cache, so a sandbox that could write it could run code in all the others. The training
 * sandbox runs nothing but the agent, and the result is copied into a root-owned, read-only file.
 * The cache is named after the JDK and the classpath (file names, sizes, times), which is what the
 * JVM checks it against; a new gateway jar or JDK makes a new one.
 */
final class AgentStartupCache {
  private static final Logger log = LoggerFactory.getLogger(AgentStartupCache.class);

  /** Not a DNS label, so no sandbox id, run dir or cgroup can be the training run's. */
  static final String TRAINING_ID = "aot.training";

  private static final long LISTEN_TIMEOUT_SECONDS = 60;
  // Dumping the classes and assembling the cache takes a few CPU seconds after the agent stops.
  private static final long EXIT_TIMEOUT_SECONDS = 180;

  private final Path dir;
  private final Path file;
  private volatile boolean ready;

  AgentStartupCache(Path dir, String java, List<String> classpath) {
    this.dir = dir.toAbsolutePath(); // the launch chain runs from /
    this.file = dir.resolve("agent-" + key(java, classpath) + ".aot");
    this.ready = Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS);
  }

  /** The cache file, or null until it has been made. */
  Path file() {
    return ready ? file : null;
  }

  /** What a training run needs from the launcher: start an agent writing its cache to a dir. */
  interface Trainer {
    /** Starts the agent of {@code spec} with {@code -XX:AOTCacheOutput} into {@code out}. */
    Process launch(LocalAgentSpec spec, Path out) throws IOException;

    /** Gives the training sandbox and {@code dir} its uid, when sandboxes get uids of their own. */
    void giveToSandbox(Path sandboxDir, Path dir) throws IOException;

    /** Releases what the launch set up (cgroup, network helper). */
    void stopped(LocalAgentSpec spec);
  }

  /** Makes the cache unless it exists; blocks for the training run, some seconds of CPU. */
  void make(Trainer trainer) {
    if (ready) {
      log.info("agent start-up cache: {}", file);
      pruneOthers(dir, file);
      return;
    }
    Path work = dir.resolve("training");
    long started = System.nanoTime();
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      deleteTree(work);
      // The home alone in its parent: SandboxUids counts siblings as other sandboxes.
      Path home = Files.createDirectories(work.resolve("sandbox/home"));
      Path out = Files.createDirectories(work.resolve("out"));
      Path token = work.resolve("token");
      Files.writeString(token, LocalSandboxProvider.newToken(), StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
      trainer.giveToSandbox(home, out);
      LocalAgentSpec spec =
          new LocalAgentSpec(TRAINING_ID, home, work, work.resolve("agent/agent.sock"), token);
      Process agent = trainer.launch(spec, out);
      try {
        train(agent, spec);
      } finally {
        trainer.stopped(spec);
      }
      Path made = out.resolve("agent.aot");
      BasicFileAttributes attrs =
          Files.readAttributes(made, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attrs.isRegularFile() || attrs.size() == 0) {
        throw new IOException("the training run wrote no cache");
      }
      // A copy the gateway's user owns (the training sandbox wrote the original).
      try (InputStream in = Files.newInputStream(made, LinkOption.NOFOLLOW_LINKS)) {
        InstalledFiles.install(in, file, null);
      }
      ready = true;
      log.info(
          "agent start-up cache made in {} s: {} ({} MiB)",
          (System.nanoTime() - started) / 1_000_000_000,
          file,
          Files.size(file) >> 20);
      pruneOthers(dir, file);
    } catch (IOException e) {
      log.warn("no agent start-up cache, agents start without one: {}", e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      try {
        deleteTree(work);
      } catch (IOException e) {
        log.debug("training dir not removed: {}", e.toString());
      }
    }
  }

  /**
   * Waits for the agent to listen, makes the calls of a login, stops it (stdin closed) and waits
   * for the cache.
   */
  private static void train(Process agent, LocalAgentSpec spec)
      throws IOException, InterruptedException {
    CompletableFuture<String> first = AgentOutput.firstLine(agent, "aot-training-stdout");
    // Logged at debug, its last lines kept for an error message.
    Deque<String> stderr = new ConcurrentLinkedDeque<>();
    AgentOutput.eachLine(
        agent.getErrorStream(),
        "aot-training-stderr",
        line -> {
          log.debug("[aot training] {}", line);
          stderr.addLast(line);
          while (stderr.size() > 5) {
            stderr.pollFirst();
          }
        });
    String line;
    try {
      line = first.get(LISTEN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      line = null;
    }
    if (line == null || !line.startsWith("listening")) {
      agent.destroyForcibly();
      throw new IOException("the training agent did not start: " + String.join(" | ", stderr));
    }
    exercise(spec);
    agent.getOutputStream().close(); // --exit-with-stdin: the agent stops, the JVM dumps
    if (!agent.waitFor(EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS) || agent.exitValue() != 0) {
      agent.destroyForcibly();
      throw new IOException(
          "the training agent did not finish in "
              + EXIT_TIMEOUT_SECONDS
              + " s: "
              + String.join(" | ", stderr));
    }
  }

  /**
   * The calls of a login (the health probe, a command and a terminal with their stdio handed over,
   * a stat), so that their classes are in the cache: without them a cold agent's first answer took
   * 200 ms more. A failure here costs only that.
   */
  private static void exercise(LocalAgentSpec spec) {
    try (SocketHandle socket = SocketHandle.open(spec.socket());
        Sandbox agent =
            Sandbox.connect(
                "unix:" + socket.path(),
                Files.readString(spec.tokenFile(), StandardCharsets.UTF_8))) {
      agent.awaitReady(Duration.ofSeconds(LISTEN_TIMEOUT_SECONDS));
      UnixDescriptorSocket fds = new UnixDescriptorSocket(spec.socket().resolveSibling("fds.sock"));
      for (boolean terminal : new boolean[] {false, true}) {
        CommandOptions options = CommandOptions.create().handOff(true);
        if (terminal) {
          options.pty(80, 24, "xterm", Map.of());
        }
        CommandHandle command = agent.commands().start(List.of("true"), options);
        if (!command.handOff().isEmpty()) {
          try (ProcessStdio stdio = fds.take(command.handOff(), terminal)) {
            stdio.stdout().read(new byte[1]);
          }
        }
        command.waitFor(Duration.ofSeconds(LISTEN_TIMEOUT_SECONDS));
      }
      agent.files().stat(".");
    } catch (IOException | RuntimeException e) {
      log.debug("training calls failed: {}", e.toString());
    }
  }

  /**
   * Deletes the caches of other gateway jars or JDKs in {@code dir}, and half-copied ones; the
   * number deleted. Each is some 35 MiB, and every upgrade would otherwise leave one behind. An
   * agent that still runs from one keeps its mapping: the file goes once it exits.
   */
  static int pruneOthers(Path dir, Path keep) {
    int deleted =
        InstalledFiles.removeOthers(dir, "agent-*{.aot," + InstalledFiles.PARTIAL + "}", keep);
    if (deleted > 0) {
      log.info("removed {} agent start-up cache(s) of other builds from {}", deleted, dir);
    }
    return deleted;
  }

  private static String key(String java, List<String> classpath) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update((java + "\n" + Runtime.version() + "\n").getBytes(StandardCharsets.UTF_8));
      for (String entry : classpath) {
        Path p = Path.of(entry);
        String stamp =
            Files.isRegularFile(p)
                ? Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis()
                : "dir";
        // The file's name, not its path: a confined agent sees each entry at a path of its own
        // (/opt/sandbox-agent/lib/N.jar), and the JVM checks the cache against that, the size and
        // the time. So gateways on other data dirs, each with its own copy of the same agent jar,
        // share one cache (the tests' gateways do).
        sha.update((p.getFileName() + " " + stamp + "\n").getBytes(StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest(), 0, 8);
    } catch (IOException | NoSuchAlgorithmException e) {
      return "unkeyed";
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
