package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.config.DataDir;
import dev.sandboxssh.gateway.routing.unix.UnixDescriptorSocket;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default: a sandbox is a directory under the data dir, and the gateway starts its
 * agent on the first session, with a fresh token, on a unix socket, and stops it once no session
 * has used it for the idle timeout.
 */
public final class LocalSandboxProvider implements SandboxProvider {
  private static final Logger log = LoggerFactory.getLogger(LocalSandboxProvider.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Lines of an agent's stderr kept to explain a failed start. */
  private static final int STDERR_TAIL_LINES = 20;

  /** sun_path holds 108 bytes on Linux, including the terminating NUL. */
  private static final int MAX_SOCKET_PATH = 107;

  private final DataDir dataDir;
  private final AgentLauncher launcher;
  private final Duration connectTimeout;
  private final Duration idleTimeout;
  private final ScheduledExecutorService scheduler;
  private final Map<String, LocalAgent> agents = new HashMap<>();
  private boolean closed;

  /**
   * Serves sandboxes under {@code dataDir}, starting agents with {@code launcher}.
   *
   * @param scheduler runs idle stops; owned by the caller
   */
  public LocalSandboxProvider(
      DataDir dataDir,
      AgentLauncher launcher,
      Duration connectTimeout,
      Duration idleTimeout,
      ScheduledExecutorService scheduler) {
    this.dataDir = new DataDir(dataDir.root().toAbsolutePath());
    this.launcher = launcher;
    this.connectTimeout = connectTimeout;
    this.idleTimeout = idleTimeout;
    this.scheduler = scheduler;
  }

  @Override
  public SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException {
    LocalAgent agent;
    synchronized (this) {
      if (closed) {
        throw new SandboxUnreachableException(
            "sandbox " + sandbox.id() + " is not running: the gateway is stopping", null);
      }
      agent = agents.computeIfAbsent(sandbox.id(), LocalAgent::new);
      agent.leases++;
      agent.cancelIdleStop();
    }
    try {
      agent.ensureStarted();
    } catch (SandboxUnreachableException e) {
      release(agent);
      throw e;
    }
    return new Lease(agent);
  }

  @Override
  public Optional<SandboxLease> ifRunning(SandboxRecord sandbox) {
    LocalAgent agent;
    synchronized (this) {
      agent = agents.get(sandbox.id());
    }
    if (agent == null || !agent.isRunning()) {
      return Optional.empty();
    }
    try {
      return Optional.of(acquire(sandbox));
    } catch (SandboxUnreachableException e) {
      return Optional.empty();
    }
  }

  private synchronized void release(LocalAgent agent) {
    agent.leases--;
    if (agent.leases == 0 && !closed) {
      agent.scheduleIdleStop();
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    for (LocalAgent agent : snapshot()) {
      agent.stop("gateway stopping");
    }
    launcher.close();
  }

  /**
   * The host pid of the process the launcher started for sandbox {@code id} (bwrap, or the agent
   * itself when unconfined), while it runs.
   */
  public synchronized OptionalLong launchedPid(String id) {
    LocalAgent agent = agents.get(id);
    Process p = agent == null ? null : agent.process;
    return p != null && p.isAlive() ? OptionalLong.of(p.pid()) : OptionalLong.empty();
  }

  private synchronized Iterable<LocalAgent> snapshot() {
    return java.util.List.copyOf(agents.values());
  }

  private final class Lease implements SandboxLease {
    private final LocalAgent agent;
    private final Sandbox client;
    private final DescriptorSocket descriptors;
    private boolean released;

    Lease(LocalAgent agent) {
      this.agent = agent;
      this.client = agent.client;
      this.descriptors = agent.descriptors;
    }

    @Override
    public Optional<DescriptorSocket> descriptors() {
      return Optional.of(descriptors);
    }

    @Override
    public String sandboxId() {
      return agent.id;
    }

    @Override
    public Sandbox sandbox() {
      return client;
    }

    @Override
    public synchronized void close() {
      if (!released) {
        released = true;
        release(agent);
      }
    }
  }

  /** One sandbox's agent process; start and stop are serialized on the instance. */
  private final class LocalAgent {
    final String id;
    int leases; // guarded by the provider
    private ScheduledFuture<?> idleStop; // guarded by the provider
    private Process process;
    private LocalAgentSpec spec;
    private volatile Sandbox client;
    private volatile DescriptorSocket descriptors;
    private final Deque<String> stderrTail = new ArrayDeque<>();

    LocalAgent(String id) {
      this.id = id;
    }

    synchronized boolean isRunning() {
      return process != null && process.isAlive();
    }

    void cancelIdleStop() {
      if (idleStop != null) {
        idleStop.cancel(false);
        idleStop = null;
      }
    }

    void scheduleIdleStop() {
      idleStop =
          scheduler.schedule(
              () -> {
                synchronized (LocalSandboxProvider.this) {
                  if (leases > 0) {
                    return;
                  }
                }
                // Named sessions live in the agent: stopping it would end them. Their own
                // detached timeout ends them, and the agent stops at the check after.
                if (holdsNamedSessions()) {
                  synchronized (LocalSandboxProvider.this) {
                    if (leases == 0 && !closed) {
                      scheduleIdleStop();
                    }
                  }
                  return;
                }
                synchronized (LocalSandboxProvider.this) {
                  if (leases > 0) {
                    return;
                  }
                  agents.remove(id);
                }
                stop("idle for " + AgentProbe.seconds(idleTimeout));
              },
              idleTimeout.toMillis(),
              TimeUnit.MILLISECONDS);
    }

    /** Whether the agent runs a tagged process (a named session); false when it cannot say. */
    private boolean holdsNamedSessions() {
      Sandbox c = client;
      if (c == null || !isRunning()) {
        return false;
      }
      try {
        return c.commands().list().stream().anyMatch(p -> !p.tag().isEmpty());
      } catch (RuntimeException e) {
        log.info("sandbox {}: cannot list its processes before an idle stop: {}", id, e.toString());
        return false;
      }
    }

    synchronized void ensureStarted() throws SandboxUnreachableException {
      if (process != null && process.isAlive()) {
        AgentProbe.check(id, client, connectTimeout);
        return;
      }
      stopQuietly();
      Path home = dataDir.sandboxDir(id);
      Path run = dataDir.run().resolve(id);
      Path socket = run.resolve("agent").resolve("agent.sock");
      Path token = run.resolve("token");
      if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
        throw new SandboxUnreachableException(
            "sandbox "
                + id
                + " is not running: socket path too long for a unix socket ("
                + socket
                + "); use a shorter --data-dir",
            null);
      }
      try {
        Files.createDirectories(home);
        Files.createDirectories(run);
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
        String secret = newToken();
        Files.writeString(token, secret, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        Files.deleteIfExists(socket);
        long started = System.nanoTime();
        spec = new LocalAgentSpec(id, home, run, socket, token);
        process = launcher.launch(spec);
        drainStderr(process.getErrorStream());
        awaitListening(process);
        // Threat: the socket's directory belongs to the sandbox, which could swap the socket for
        // a link to some other socket on the host (the gateway would follow it as root).
        if (!Files.readAttributes(socket, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
            .isOther()) {
          throw new SandboxUnreachableException(
              "sandbox " + id + " is not running: its agent socket is not a socket", null);
        }
        launcher.listening(spec, process);
        client = Sandbox.connect("unix:" + socket, secret);
        UnixDescriptorSocket fds = new UnixDescriptorSocket(socket.resolveSibling("fds.sock"));
        // -L/-R connections and SFTP's files, like commands' stdio, skip the agent.
        client.network().handOffTo(fds::takeSocket);
        client.files().handOffTo(fds::takeFile);
        descriptors = fds;
        AgentProbe.check(id, client, connectTimeout);
        log.info(
            "agent started: sandbox={} pid={} in {} ms ({})",
            id,
            process.pid(),
            (System.nanoTime() - started) / 1_000_000,
            launcher.confined() ? "confined" : "unconfined");
        Process watched = process;
        watched.onExit().thenAccept(p -> onExit(p));
      } catch (IOException e) {
        stopQuietly();
        throw new SandboxUnreachableException(
            "sandbox " + id + " is not running: agent failed to start: " + e.getMessage(), e);
      } catch (SandboxUnreachableException e) {
        stopQuietly();
        throw e;
      }
    }

    private void onExit(Process p) {
      synchronized (this) {
        if (p != process) {
          return;
        }
      }
      log.info("agent exited: sandbox={} pid={} status={}", id, p.pid(), p.exitValue());
    }

    private void awaitListening(Process p) throws SandboxUnreachableException {
      CompletableFuture<String> line = AgentOutput.firstLine(p, "agent-stdout-" + id);
      String first;
      try {
        first = line.get(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        throw new SandboxUnreachableException(
            "sandbox " + id + ": agent did not answer in " + AgentProbe.seconds(connectTimeout), e);
      } catch (Exception e) {
        first = null;
      }
      if (first == null || !first.startsWith("listening")) {
        try {
          p.waitFor(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new SandboxUnreachableException(
            "sandbox " + id + " is not running: agent failed to start: " + stderrSummary(), null);
      }
    }

    private void drainStderr(InputStream stderr) {
      AgentOutput.eachLine(
          stderr,
          "agent-stderr-" + id,
          line -> {
            log.info("[agent {}] {}", id, line);
            synchronized (stderrTail) {
              stderrTail.addLast(line);
              if (stderrTail.size() > STDERR_TAIL_LINES) {
                stderrTail.removeFirst();
              }
            }
          });
    }

    private String stderrSummary() {
      synchronized (stderrTail) {
        return stderrTail.isEmpty() ? "no output" : stderrTail.getLast();
      }
    }

    synchronized void stop(String why) {
      if (process != null && process.isAlive()) {
        log.info("stopping agent: sandbox={} pid={}: {}", id, process.pid(), why);
      }
      stopQuietly();
    }

    private void stopQuietly() {
      if (client != null) {
        client.close();
        client = null;
      }
      if (process != null) {
        Process p = process;
        process = null;
        // SIGTERM lets the agent kill its processes; closing stdin is the backstop.
        p.destroy();
        try {
          p.getOutputStream().close();
          if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
          }
        } catch (IOException e) {
          p.destroyForcibly();
        } catch (InterruptedException e) {
          p.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
      if (spec != null) {
        launcher.stopped(spec);
        spec = null;
      }
    }
  }

  /** A fresh agent token: 256 random bits. */
  static String newToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
