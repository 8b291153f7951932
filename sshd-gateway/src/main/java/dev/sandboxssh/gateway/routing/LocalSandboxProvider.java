package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.config.DataDir;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.routing.unix.Mounts;
import dev.sandboxssh.gateway.routing.unix.SocketHandle;
import dev.sandboxssh.gateway.routing.unix.UnixDescriptorSocket;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.CommandResult;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default: a sandbox is a directory under the data dir, and the gateway starts its
 * agent on the first session, with a fresh token, on a unix socket, and stops it once no session
 * has used it for the idle timeout.
 *
 * <p>Spare agents: where the launcher can reassign agents, a few are kept started ahead, each in a
 * sandbox of its own that has no id yet ({@code sandboxes/.spare-*}). The first session of a
 * sandbox whose agent is not running takes one: its directory and run dir are renamed to the
 * sandbox's (the agent's bind mounts follow them), and the launcher gives it the sandbox's host
 * name. A spare already runs as the fresh uid it was given. Where the kernel allows, a sandbox that
 * holds files is mounted as the spare's home with their owner shown as that uid (see {@link
 * Mounts}); nothing on disk changes, and the spare's directory stays, as {@code sandboxes/.uid-ID},
 * to hold its uid for as long as the agent runs. Elsewhere the sandbox gives its files to the
 * spare's uid and moves them into the spare's directory; one with {@link #MAX_FILES_TO_REOWN} files
 * or more then starts its own agent. A sandbox with a process of its old uid still running starts
 * its own agent either way.
 */
public final class LocalSandboxProvider implements SandboxProvider {
  private static final Logger log = LoggerFactory.getLogger(LocalSandboxProvider.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Lines of an agent's stderr kept to explain a failed start. */
  private static final int STDERR_TAIL_LINES = 20;

  /** How long a stopped agent has to end its processes before everything left is killed. */
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);

  /** The host pid of a launched agent, in its run dir, for the next gateway to find it by. */
  private static final String PID_FILE = "agent.pid";

  /** The name prefix of a spare agent's sandbox directory and run dir: no sandbox id has a dot. */
  private static final String SPARE_PREFIX = ".spare-";

  /**
   * Where a used sandbox's files wait while a spare agent takes them; the next gateway puts back
   * any it finds.
   */
  private static final String TAKING_PREFIX = ".taking-";

  /**
   * The directory of the spare whose agent serves a sandbox through an idmapped mount of its home:
   * its owner is the uid that agent runs as, which no other sandbox may get while it runs.
   */
  private static final String UID_PREFIX = ".uid-";

  /**
   * How long a stopped agent's uid waits for the last of its processes to go before it is freed.
   */
  private static final Duration RELEASE_WAIT = Duration.ofSeconds(1);

  /** The uid a probe's idmapped mount shows root's directory as: nobody's. */
  private static final int PROBE_UID = 65534;

  /**
   * The most entries a used sandbox's tree may have, its own directory counted, for a spare agent
   * to take it: a sandbox that holds this many files and directories or more starts its own. Each
   * is given to the spare's uid, some microseconds apiece, and changes its ctime, so the first
   * {@code git status} after re-reads what it tracks; past this many, starting the sandbox's own
   * agent is the cheaper way.
   */
  public static final int MAX_FILES_TO_REOWN = 5_000;

  private final DataDir dataDir;
  private final AgentLauncher launcher;
  private final Duration connectTimeout;
  private final Duration idleTimeout;
  private final ScheduledExecutorService scheduler;
  private final GatewayEvents events;
  private final Map<String, LocalAgent> agents = new HashMap<>();
  private final int spareAgents;

  // Turns to start an agent, spares' starts included. A start is a JVM mapping and linking its
  // classes and answering its first call, bound by CPU: more at once than cores only slow each
  // other down. Eight cold logins at once on two cores took 2.8-3.2 s each on average two at a
  // time, against 4.1-4.8 s with all eight starting together (the last about 5 s either way).
  private final int maxStarts;
  // Guarded by this.
  private int startsRunning;
  private final boolean idmappedHomes;
  private final GatewayConfig.UidRange uidRange;
  // Set once by startSpares, before any spare starts; sandboxes/ is bound and unbound under
  // mounting, so that a close during startSpares leaves no bind behind.
  private final Object mounting = new Object();
  private volatile boolean homesMapped;
  private volatile boolean sandboxesBound; // sandboxes/ is a bind of this data dir's providers
  private final Deque<LocalAgent> spares = new ArrayDeque<>(); // started and warm
  private int sparesStarting;
  private boolean spareAwaited; // a login waits for the spare that is starting
  private boolean sparesOn;
  private boolean closed;

  /** Starts spare agents, one at a time, off every session's way. */
  private final ExecutorService spareStarter =
      Executors.newSingleThreadExecutor(
          task -> {
            Thread t = new Thread(task, "spare-agents");
            t.setDaemon(true);
            return t;
          });

  /**
   * Serves sandboxes under {@code dataDir}, starting agents with {@code launcher}.
   *
   * @param scheduler runs idle stops; owned by the caller
   * @param events where each agent's start time is reported
   * @param spareAgents how many agents to keep started ahead, once {@link #startSpares} is called;
   *     none where the launcher cannot reassign agents
   * @param idmappedHomes whether a spare takes a used sandbox's home through an idmapped mount,
   *     where the kernel allows
   * @param uidRange the sandboxes' uids: only a home owned by one of them is mounted idmapped
   * @param agentStarts agents that may start at once (0: one per core); a start past them waits for
   *     a turn, at most the connect timeout
   */
  public LocalSandboxProvider(
      DataDir dataDir,
      AgentLauncher launcher,
      Duration connectTimeout,
      Duration idleTimeout,
      ScheduledExecutorService scheduler,
      GatewayEvents events,
      int spareAgents,
      boolean idmappedHomes,
      GatewayConfig.UidRange uidRange,
      int agentStarts) {
    this.events = events;
    this.maxStarts = agentStarts > 0 ? agentStarts : Runtime.getRuntime().availableProcessors();
    this.spareAgents = launcher.reassigns() ? spareAgents : 0;
    this.idmappedHomes = idmappedHomes;
    this.uidRange = uidRange;
    this.dataDir = new DataDir(dataDir.root().toAbsolutePath());
    this.launcher = launcher;
    this.connectTimeout = connectTimeout;
    this.idleTimeout = idleTimeout;
    this.scheduler = scheduler;
    putBackUnfinishedTakes();
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

  /**
   * Removes what spare agents of an earlier gateway on this data dir left (they exit with it), then
   * starts keeping spares if configured; call it once the agents' start-up cache is ready, or
   * spares would start without it.
   */
  public void startSpares() {
    // Also with spares off now: each left directory would keep a uid of the range taken.
    removeLeftSpares();
    releaseLeftUids();
    synchronized (mounting) {
      if (isClosed()) {
        return;
      }
      if (spareAgents == 0 || !idmappedHomes) {
        unbindSandboxes(); // an earlier gateway's, stopped before it could
      }
      if (spareAgents == 0) {
        return;
      }
      homesMapped = idmappedHomes && idmappedHomesWork();
    }
    synchronized (this) {
      sparesOn = true;
    }
    topUpSpares();
  }

  /** Spare agents started and ready now. */
  public synchronized int readySpares() {
    return spares.size();
  }

  private void removeLeftSpares() {
    for (Path parent : List.of(dataDir.sandboxes(), dataDir.run())) {
      try (var entries = Files.list(parent)) {
        for (Path dir : (Iterable<Path>) entries::iterator) {
          if (dir.getFileName().toString().startsWith(SPARE_PREFIX)) {
            deleteUnmounted(dir);
          }
        }
      } catch (IOException e) {
        log.debug(
            "cannot remove earlier spare agents' directories in {}: {}", parent, e.toString());
      }
    }
  }

  /**
   * Removes {@code dir} once nothing is mounted at it. Threat: a gateway stopped half-way through a
   * take leaves a sandbox's home mounted on a spare's directory, and deleting through that mount
   * would delete the sandbox's files; a directory that cannot be unmounted therefore stays.
   */
  private static void deleteUnmounted(Path dir) throws IOException {
    Mounts.detachAll(dir);
    DataDir.deleteTree(dir);
  }

  /**
   * Frees the uids held for agents that earlier gateways on this data dir started from spares and
   * that no longer run; one still running (left for its named sessions) keeps its uid.
   */
  private void releaseLeftUids() {
    try (var dirs = Files.newDirectoryStream(dataDir.sandboxes(), UID_PREFIX + "*")) {
      for (Path dir : dirs) {
        String id = dir.getFileName().toString().substring(UID_PREFIX.length());
        if (LocalAgent.leftRunning(dataDir.run().resolve(id)).isEmpty()) {
          try {
            deleteUnmounted(dir);
          } catch (IOException e) {
            log.warn("sandbox {}: the uid its last agent had stays held: {}", id, e.toString());
          }
        }
      }
    } catch (IOException e) {
      log.debug("no held uids to look for: {}", e.toString());
    }
  }

  /**
   * Whether idmapped mounts work here, tried once on directories of the provider's own; also makes
   * {@code sandboxes/} a private mount, so that what is mounted on a spare's directory propagates
   * to no namespace but the spare's.
   */
  private boolean idmappedHomesWork() {
    Path probe = dataDir.run().resolve(".idmap-probe");
    Path to = probe.resolve("to");
    try {
      if (sandboxesBoundByUs()) {
        Mounts.ensurePrivateMount(dataDir.sandboxes());
      } else {
        // Recorded first: a gateway stopped right after the bind still leaves its record.
        Files.writeString(bindRecord(), "");
        if (Mounts.ensurePrivateMount(dataDir.sandboxes())) {
          Files.writeString(
              bindRecord(), Integer.toString(Mounts.topMountId(dataDir.sandboxes()).orElse(-1)));
        } else {
          Files.delete(bindRecord()); // a mount point of somebody else's
        }
      }
      sandboxesBound = sandboxesBoundByUs();
      deleteUnmounted(to);
      DataDir.deleteTree(probe);
      Path from = Files.createDirectories(probe.resolve("from"));
      Files.createDirectories(to);
      Mounts.bindShared(to);
      // Root's directory, shown as nobody's where it is mounted.
      Mounts.passIdmapped(from, to, 0, PROBE_UID, () -> SandboxUids.ownerOf(to) == PROBE_UID);
      log.info(
          "spare agents take sandboxes that hold files through idmapped mounts of their homes");
      return true;
    } catch (IOException | RuntimeException e) {
      log.info(
          "spare agents give a sandbox's files to their uid (up to {}): no idmapped mounts here: {}",
          MAX_FILES_TO_REOWN,
          e.getMessage());
      unbindSandboxes(); // of no use without them
      sandboxesBound = false;
      return false;
    } finally {
      try {
        deleteUnmounted(to);
        DataDir.deleteTree(probe);
      } catch (IOException e) {
        log.warn("the idmapped mounts' probe stays in {}: {}", probe, e.toString());
      }
    }
  }

  /**
   * Where the provider records the mount id of its bind of {@code sandboxes/} onto itself, so that
   * the next gateway on this data dir takes down one this one could not; a mount point there that
   * is not recorded (a disk of its own, say) is never unmounted.
   */
  private Path bindRecord() {
    return dataDir.run().resolve(".sandboxes-mount");
  }

  /**
   * Whether {@code sandboxes/} is a bind this provider, or an earlier one on its data dir, made.
   */
  private boolean sandboxesBoundByUs() {
    try {
      String recorded = Files.readString(bindRecord(), StandardCharsets.US_ASCII).strip();
      OptionalInt now = Mounts.topMountId(dataDir.sandboxes());
      return now.isPresent() && recorded.equals(Integer.toString(now.getAsInt()));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Takes down this data dir's bind of {@code sandboxes/}, if a provider of it made one. */
  private void unbindSandboxes() {
    try {
      if (sandboxesBoundByUs()) {
        Mounts.detach(dataDir.sandboxes());
      }
      Files.deleteIfExists(bindRecord());
    } catch (IOException e) {
      log.warn("{} stays a mount point: {}", dataDir.sandboxes(), e.toString());
    }
  }

  private void topUpSpares() {
    synchronized (this) {
      int wanted = spareAgents - spares.size() - sparesStarting;
      if (!sparesOn || closed || wanted <= 0) {
        return;
      }
      sparesStarting += wanted;
      for (int i = 0; i < wanted; i++) {
        spareStarter.execute(this::startSpare);
      }
    }
  }

  private void startSpare() {
    byte[] name = new byte[6];
    RANDOM.nextBytes(name);
    String id = SPARE_PREFIX + HexFormat.of().formatHex(name);
    LocalAgent spare =
        new LocalAgent(id, dataDir.sandboxes().resolve(id), dataDir.run().resolve(id));
    boolean ready = false;
    try {
      Files.createDirectory(spare.home);
      Files.setPosixFilePermissions(spare.home, PosixFilePermissions.fromString("rwx------"));
      if (homesMapped) {
        // Before the agent's namespace copies it: the sandbox's home is mounted here later.
        Mounts.bindShared(spare.home);
      }
      spare.ensureStarted();
      spare.warmUp();
      ready = true;
    } catch (IOException | SandboxUnreachableException | RuntimeException e) {
      if (isClosed()) {
        log.debug("a spare agent's start ended as the gateway stops: {}", e.getMessage());
      } else {
        log.warn(
            "a spare agent did not start, and no other will till a sandbox takes one: {}",
            e.getMessage());
      }
    } finally {
      boolean keep;
      synchronized (this) {
        sparesStarting--;
        keep = ready && !closed;
        if (keep) {
          spares.addLast(spare);
        }
        notifyAll(); // a login waiting for it
      }
      if (!keep) {
        spare.discard();
      }
    }
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  /** A turn to start an agent, if one is free now. */
  private synchronized boolean tryStartTurn() {
    if (startsRunning < maxStarts) {
      startsRunning++;
      return true;
    }
    return false;
  }

  /**
   * Waits for a turn to start sandbox {@code id}'s agent, at most the connect timeout: true with a
   * turn to end, false with none (the start goes ahead without one rather than fail the login).
   *
   * @throws SandboxUnreachableException when the gateway stops meanwhile, or the wait is
   *     interrupted
   */
  private boolean awaitStartTurn(String id) throws SandboxUnreachableException {
    synchronized (this) {
      try {
        waitWhile(() -> startsRunning >= maxStarts);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SandboxUnreachableException(
            "sandbox " + id + " is not running: its agent's start was interrupted", e);
      }
      if (closed) {
        throw new SandboxUnreachableException(
            "sandbox " + id + " is not running: the gateway is stopping", null);
      }
      if (tryStartTurn()) {
        return true;
      }
    }
    log.warn(
        "sandbox {}: no turn to start its agent within {} ms; starting it anyway",
        id,
        connectTimeout.toMillis());
    return false;
  }

  /**
   * Under this lock: waits while {@code pending} holds and the provider is open, at most the
   * connect timeout. What ends a wait (a start or a spare's start ending, a close) notifies this
   * lock.
   */
  private void waitWhile(BooleanSupplier pending) throws InterruptedException {
    long deadline = System.nanoTime() + connectTimeout.toNanos();
    for (long left = connectTimeout.toNanos();
        pending.getAsBoolean() && !closed && left > 0;
        left = deadline - System.nanoTime()) {
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Ends a start's turn, for the next one waiting. */
  private synchronized void endStartTurn() {
    startsRunning--;
    notifyAll();
  }

  /** A ready spare agent, or null; dead ones are discarded on the way. */
  private LocalAgent takeSpare() {
    while (true) {
      LocalAgent spare;
      synchronized (this) {
        spare = spares.pollFirst();
      }
      if (spare == null || spare.isRunning()) {
        return spare;
      }
      spare.discard();
    }
  }

  /**
   * For a login that found no spare ready: the one that is starting, once it is ready, when no
   * other login waits for it. It is never further off than an agent started now would be, and a
   * second JVM starting beside it would slow both down. Null when there is none to have.
   */
  private LocalAgent awaitStartingSpare() {
    synchronized (this) {
      if (sparesStarting == 0 || spareAwaited || closed) {
        return null;
      }
      spareAwaited = true;
      try {
        waitWhile(() -> spares.isEmpty() && sparesStarting > 0);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      } finally {
        spareAwaited = false;
      }
    }
    return takeSpare();
  }

  /** Puts back a spare that a sandbox could not take after all. */
  private void returnSpare(LocalAgent spare) {
    boolean keep;
    synchronized (this) {
      keep = !closed;
      if (keep) {
        spares.addFirst(spare);
      }
    }
    if (!keep) {
      spare.discard();
    }
  }

  @Override
  public void close() {
    List<LocalAgent> unused;
    synchronized (this) {
      closed = true;
      unused = List.copyOf(spares);
      spares.clear();
      // A login waiting for a spare starts its own, or fails as the gateway stops; one waiting for
      // a turn to start an agent fails.
      notifyAll();
    }
    spareStarter.shutdownNow();
    try {
      // A spare starting now sees closed and removes itself; nothing of it may outlive close.
      if (!spareStarter.awaitTermination(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("a spare agent still starting as the gateway stops may leave its directory");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    unused.forEach(LocalAgent::discard);
    for (LocalAgent agent : snapshot()) {
      // Named sessions live in the agent: it stays (it outlives this gateway while it holds
      // them), and the next gateway on this data dir takes it over.
      if (agent.holdsNamedSessions()) {
        agent.leave();
      } else {
        agent.stop("gateway stopping");
      }
    }
    synchronized (mounting) {
      if (sandboxesBound) {
        // Agents left running keep their own copies; the host gets its directory back as it was.
        unbindSandboxes();
      }
    }
    launcher.close();
  }

  /** Agents running now, started by this gateway or taken over from an earlier one. */
  public synchronized int runningAgents() {
    int n = 0;
    for (LocalAgent agent : agents.values()) {
      if (agent.handle != null && agent.handle.isAlive()) {
        n++;
      }
    }
    return n;
  }

  /**
   * The host pid of the process the launcher started for sandbox {@code id} (bwrap, or the agent
   * itself when unconfined), while it runs.
   */
  public synchronized OptionalLong launchedPid(String id) {
    LocalAgent agent = agents.get(id);
    ProcessHandle p = agent == null ? null : agent.handle;
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

  /** Moves every entry of directory {@code from} into {@code to}, refusing to replace any. */
  private static void moveEntries(Path from, Path to) throws IOException {
    try (var entries = Files.newDirectoryStream(from)) {
      for (Path entry : entries) {
        Files.move(entry, to.resolve(entry.getFileName()));
      }
    }
  }

  /**
   * Puts back the files of a sandbox that a spare agent was taking when an earlier gateway on this
   * data dir stopped: they are the sandbox's, whoever's uid they have (its next start settles
   * that).
   */
  private void putBackUnfinishedTakes() {
    try (var dirs = Files.newDirectoryStream(dataDir.sandboxes(), TAKING_PREFIX + "*")) {
      for (Path taking : dirs) {
        Path home =
            taking.resolveSibling(
                taking.getFileName().toString().substring(TAKING_PREFIX.length()));
        try {
          if (Files.exists(home, LinkOption.NOFOLLOW_LINKS)) {
            moveEntries(taking, home);
            Files.delete(taking);
          } else {
            Files.move(taking, home);
          }
          log.info("sandbox {}: files put back from {}", home.getFileName(), taking);
        } catch (IOException e) {
          log.error("sandbox {}: files stay in {}: {}", home.getFileName(), taking, e.toString());
        }
      }
    } catch (IOException e) {
      log.debug("no unfinished takes to look for: {}", e.toString());
    }
  }

  /** Whether a sandbox directory never held anything: absent, or an empty directory. */
  private static boolean neverUsed(Path home) throws IOException {
    if (!Files.exists(home, LinkOption.NOFOLLOW_LINKS)) {
      return true;
    }
    if (!Files.isDirectory(home, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    try (var entries = Files.newDirectoryStream(home)) {
      return !entries.iterator().hasNext();
    }
  }

  /** One sandbox's agent process; start and stop are serialized on the instance. */
  private final class LocalAgent {
    final String id;
    final Path home;
    final Path run;
    int leases; // guarded by the provider
    private ScheduledFuture<?> idleStop; // guarded by the provider
    // The launched process (bwrap, or the agent itself); for an agent taken over from an earlier
    // gateway only its handle is known.
    private Process process;
    private volatile ProcessHandle handle;
    private boolean left; // the gateway stopped and left this agent running
    private LocalAgentSpec spec;
    private volatile Sandbox client;
    private SocketHandle socketHandle; // open while client is
    private volatile DescriptorSocket descriptors;
    // Moves with the process when a sandbox takes a spare agent.
    private AgentLog stderr;

    LocalAgent(String id) {
      this(id, dataDir.sandboxDir(id), dataDir.run().resolve(id));
    }

    LocalAgent(String id, Path home, Path run) {
      this.id = id;
      this.home = home;
      this.run = run;
      this.stderr = new AgentLog(id);
    }

    synchronized boolean isRunning() {
      return handle != null && handle.isAlive();
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
                }
                // Stopped while still in the map: a session arriving meanwhile waits for the
                // stop (ensureStarted holds the same lock) and starts it afresh, never alongside
                // an agent that is still shutting down on the same socket.
                stop("idle for " + AgentProbe.seconds(idleTimeout));
                synchronized (LocalSandboxProvider.this) {
                  if (leases == 0 && handle == null) {
                    agents.remove(id, this);
                  }
                }
              },
              idleTimeout.toMillis(),
              TimeUnit.MILLISECONDS);
    }

    /** Whether the agent runs a tagged process (a named session); false when it cannot say. */
    boolean holdsNamedSessions() {
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
      if (handle != null && handle.isAlive()) {
        AgentProbe.check(id, client, connectTimeout);
        return;
      }
      Path socket = run.resolve("agent").resolve("agent.sock");
      Path token = run.resolve("token");
      if (handle == null && takeOver(home, run, socket, token)) {
        return;
      }
      stopQuietly();
      if (!id.startsWith(SPARE_PREFIX) && spareAgents > 0 && takeSpareFor(socket, token)) {
        return;
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
        boolean permit = tryStartTurn();
        boolean waited = !permit;
        if (waited) {
          permit = awaitStartTurn(id);
        }
        long waitedMs = (System.nanoTime() - started) / 1_000_000;
        try {
          process = launcher.launch(spec);
          handle = process.toHandle();
          // The next gateway on this data dir finds the agent by it, if it outlives this one.
          Files.writeString(run.resolve(PID_FILE), Long.toString(process.pid()));
          drainStderr(process.getErrorStream());
          awaitListening(process);
          AgentLauncher.Pending network = launcher.listening(spec, process);
          connect(socket, secret);
          // The turn lasts through the first call too: the agent's answer to it is the rest of
          // its start-up work.
          AgentProbe.check(id, client, connectTimeout);
          // The network helper sets up while the probe runs (some milliseconds of a cold login);
          // no user's call reaches the agent before it is done.
          network.finish();
        } finally {
          if (permit) {
            endStartTurn();
          }
        }
        String how = launcher.confined() ? "confined" : "unconfined";
        serving(started, waited ? how + ", " + waitedMs + " ms of it waiting for a turn" : how);
      } catch (IOException e) {
        stopQuietly();
        throw new SandboxUnreachableException(
            "sandbox " + id + " is not running: agent failed to start: " + e.getMessage(), e);
      } catch (SandboxUnreachableException e) {
        stopQuietly();
        throw e;
      }
    }

    /**
     * Reports the agent {@code process} serving since {@code started}, and watches for its exit.
     */
    private void serving(long started, String how) {
      events.agentStarted(Duration.ofNanos(System.nanoTime() - started));
      log.info(
          "agent started: sandbox={} pid={} in {} ms ({})",
          id,
          process.pid(),
          (System.nanoTime() - started) / 1_000_000,
          how);
      Process watched = process;
      watched.onExit().thenAccept(p -> onExit(p));
    }

    /**
     * Makes this sandbox's agent out of a spare, if one is ready or starting (see {@link
     * LocalSandboxProvider#awaitStartingSpare}): true when it serves. False leaves the sandbox's
     * files where they were, for an ordinary start.
     */
    private boolean takeSpareFor(Path socket, Path token) {
      long started = System.nanoTime(); // a used sandbox's look through its files included
      // A used sandbox's files, when they are given to the spare's uid: each, children before the
      // directory; null for a sandbox that never held anything, or one mounted idmapped.
      List<Path> files = null;
      boolean used;
      boolean mapped = false; // its home is mounted as the spare's, idmapped
      int oldUid = -1; // the owner of a used sandbox's directory
      try {
        used = !neverUsed(home);
        if (used) {
          oldUid = SandboxUids.ownerOf(home);
        }
        if (used && homesMapped && uidRange.contains(oldUid)) {
          // Threat: a home owned by root or by a uid outside the range would, mounted so, let the
          // sandbox create files the host sees as that uid's (root's, an account's).
          mapped = true;
        } else if (used) {
          Optional<List<Path>> tree = SandboxUids.treeOf(home, MAX_FILES_TO_REOWN);
          if (tree.isEmpty()) {
            log.info(
                "sandbox {}: {} files or more (looked {} ms), or not a directory: its own agent"
                    + " starts",
                id,
                MAX_FILES_TO_REOWN,
                (System.nanoTime() - started) / 1_000_000);
            return false;
          }
          files = tree.get();
        }
        // Nothing of the old uid may run while its tree is walked (see anyProcessOf), nor alongside
        // the spare on the same files: its stop has not finished. Root's (files put there from the
        // host) is the gateway's own, and no sandbox's.
        if (used && oldUid != 0 && SandboxUids.anyProcessOf(oldUid)) {
          log.info(
              "sandbox {}: processes of its uid {} still run: its own agent starts", id, oldUid);
          return false;
        }
        // Nor may the processes of its last agent's, if that came from a spare.
        Path held = heldUid();
        if (Files.isDirectory(held, LinkOption.NOFOLLOW_LINKS)) {
          int heldUid = SandboxUids.ownerOf(held);
          if (SandboxUids.anyProcessOf(heldUid)) {
            log.info(
                "sandbox {}: processes of its last agent's uid {} still run: its own agent starts",
                id,
                heldUid);
            return false;
          }
        }
      } catch (IOException e) {
        log.info(
            "sandbox {}: cannot look through its files, its own agent starts: {}",
            id,
            e.toString());
        return false;
      }
      LocalAgent spare = takeSpare();
      boolean waited = spare == null;
      if (waited) {
        spare = awaitStartingSpare();
      }
      if (spare == null) {
        return false;
      }
      Path spareRun = spare.run;
      try {
        synchronized (spare) {
          if (!spare.isRunning()) {
            spare.discard();
            return false;
          }
          if (!used) {
            try {
              // The agent's namespace keeps its copy of the spare's directory; the host's bind
              // of it would stop the rename.
              Mounts.detachAll(spare.home);
              // rename(2) replaces an empty directory, and fails if something came into it
              // meanwhile.
              Files.move(spare.home, home, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
              log.info("sandbox {}: a spare agent cannot take its directory: {}", id, e.toString());
              if (homesMapped) {
                spare.discard(); // no longer bound, it could not take a used sandbox's home
              } else {
                returnSpare(spare);
              }
              return false;
            }
          } else if (mapped) {
            try {
              mountHome(spare, oldUid);
            } catch (IOException e) {
              log.warn("sandbox {}: a spare agent cannot mount its home: {}", id, e.toString());
              spare.discard();
              return false;
            }
          } else {
            try {
              giveFiles(spare, files, oldUid);
            } catch (IOException e) {
              // The files are where they were, for the sandbox's own agent.
              log.warn("sandbox {}: a spare agent cannot take its files: {}", id, e.toString());
              spare.discard();
              return false;
            }
          }
          // From here on the agent is this sandbox's: on failure it is stopped as this one's.
          process = spare.process;
          handle = spare.handle;
          stderr = spare.stderr;
          stderr.id = id;
          LocalAgentSpec from = spare.spec;
          spec = from; // what a stop on the way frees: the launcher knows it by the spare's id
          spare.process = null;
          spare.handle = null;
          spare.spec = null;
          spare.closeClient();
          // A run dir left by an earlier agent of this id has nothing running any more.
          DataDir.deleteTree(run);
          Files.move(from.runDir(), run, StandardCopyOption.ATOMIC_MOVE);
          spec = new LocalAgentSpec(id, home, run, socket, token);
          launcher.reassigned(from, spec);
        }
        connect(socket, Files.readString(token, StandardCharsets.UTF_8).strip());
        AgentProbe.check(id, client, connectTimeout);
        serving(
            started,
            (waited ? "a spare agent, waited for as it started" : "a spare agent, started ahead")
                + (!used
                    ? ""
                    : mapped
                        ? "; its home mounted idmapped"
                        : "; " + files.size() + " files given to its uid"));
        return true;
      } catch (IOException | SandboxUnreachableException | RuntimeException e) {
        log.warn("sandbox {}: the spare agent it took failed, starting one: {}", id, e.toString());
        stopQuietly();
        try {
          DataDir.deleteTree(spareRun); // if it was not renamed yet
        } catch (IOException left) {
          log.debug("spare agent {}: its run dir stays: {}", spare.id, left.toString());
        }
        return false;
      } finally {
        topUpSpares();
      }
    }

    /**
     * Gives a used sandbox's files, now {@code oldUid}'s, to {@code spare}: each to the spare's
     * uid, then into the spare's directory (the inode its agent has bound as the home), which then
     * takes this sandbox's name. On failure no file is lost: they stay in this sandbox's directory,
     * or, should the gateway stop half-way, in {@code .taking-ID}, which the next gateway puts
     * back.
     */
    private void giveFiles(LocalAgent spare, List<Path> files, int oldUid) throws IOException {
      if (!neverUsed(spare.home)) {
        // What the spare left there would mix into the sandbox's home.
        throw new IOException("the spare's own directory is not empty");
      }
      int uid = SandboxUids.ownerOf(spare.home);
      try {
        for (Path file : files) {
          SandboxUids.chown(file, uid);
        }
      } catch (IOException e) {
        // All back to the old uid, which the sandbox's own agent then runs as: a file left the
        // spare's would be out of its reach.
        for (Path file : files) {
          try {
            SandboxUids.chown(file, oldUid);
          } catch (IOException again) {
            e.addSuppressed(again);
          }
        }
        throw e;
      }
      Path taking = home.resolveSibling(TAKING_PREFIX + id);
      Files.move(spare.home, taking, StandardCopyOption.ATOMIC_MOVE);
      try {
        moveEntries(home, taking);
        Files.setPosixFilePermissions(
            taking, Files.getPosixFilePermissions(home, LinkOption.NOFOLLOW_LINKS));
        // rename(2) replaces the sandbox's directory, empty now.
        Files.move(taking, home, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        try {
          moveEntries(taking, home);
          Files.delete(taking);
        } catch (IOException back) {
          e.addSuppressed(back);
          log.error(
              "sandbox {}: some of its files stay in {} until the gateway restarts: {}",
              id,
              taking,
              back.toString());
        }
        throw e;
      }
    }

    /**
     * Mounts this sandbox's directory, owned by {@code oldUid}, on {@code spare}'s, with its files
     * shown and created as the spare's uid's; the mount reaches the agent's namespace, and the
     * host's is then taken down. The spare's directory becomes {@code .uid-ID}, holding that uid.
     */
    private void mountHome(LocalAgent spare, int oldUid) throws IOException {
      int uid = SandboxUids.ownerOf(spare.home);
      Path held = heldUid();
      deleteUnmounted(held); // an earlier agent's, stopped
      Mounts.passIdmapped(home, spare.home, oldUid, uid, () -> agentSeesAsHome(spare, home));
      Files.move(spare.home, held, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The directory that holds the uid of this sandbox's agent, if it came from a spare. */
    private Path heldUid() {
      return dataDir.sandboxes().resolve(UID_PREFIX + id);
    }

    /** Whether a process of {@code spare}'s sees {@code dir} at {@code /home/user}. */
    private static boolean agentSeesAsHome(LocalAgent spare, Path dir) throws IOException {
      Object want =
          Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
      ProcessHandle h = spare.handle;
      if (h == null) {
        return false;
      }
      for (ProcessHandle p : (Iterable<ProcessHandle>) h.descendants()::iterator) {
        Path seen = Path.of("/proc", Long.toString(p.pid()), "root", "home", "user");
        try {
          if (want.equals(
              Files.readAttributes(seen, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                  .fileKey())) {
            return true;
          }
        } catch (IOException e) {
          // Not in the agent's mount namespace (bwrap's outer process), or gone.
        }
      }
      return false;
    }

    /** Runs one command, so that a spare's first session finds its process path compiled. */
    void warmUp() throws SandboxUnreachableException {
      try {
        CommandResult result =
            client
                .commands()
                .run("true", CommandOptions.create().timeout(connectTimeout))
                .waitFor(connectTimeout);
        if (result.exitCodeOr(-1) != 0) {
          throw new SandboxUnreachableException(
              "spare agent " + id + ": `true` ended with " + result, null);
        }
      } catch (RuntimeException e) {
        throw new SandboxUnreachableException(
            "spare agent " + id + ": its first command failed: " + e.getMessage(), e);
      }
    }

    /** Stops a spare agent and removes its directories. */
    void discard() {
      synchronized (this) {
        stopQuietly();
      }
      try {
        deleteUnmounted(home);
        DataDir.deleteTree(run);
      } catch (IOException e) {
        log.info("spare agent {}: its directories stay: {}", id, e.toString());
      }
    }

    private void closeClient() {
      if (client != null) {
        client.close();
        client = null;
      }
      if (socketHandle != null) {
        socketHandle.close();
        socketHandle = null;
      }
    }

    /**
     * Connects to the agent's sockets through handles on them: whatever their paths' length, and
     * never through a link the sandbox put there.
     */
    private void connect(Path socket, String secret) throws IOException {
      socketHandle = SocketHandle.open(socket);
      // The channel reconnects by this path on its own; the handle lives as long as the client.
      client = Sandbox.connect("unix:" + socketHandle.path(), secret);
      UnixDescriptorSocket fds = new UnixDescriptorSocket(socket.resolveSibling("fds.sock"));
      // -L/-R connections and SFTP's files, like commands' stdio, skip the agent.
      client.network().handOffTo(fds::takeSocket);
      client.files().handOffTo(fds::takeFile);
      descriptors = fds;
    }

    /**
     * Takes over the agent an earlier gateway on this data dir left running for its named sessions:
     * it answers on its socket with the token of its run dir. False when there is none, or it does
     * not answer; a fresh agent then takes the socket.
     */
    private boolean takeOver(Path home, Path run, Path socket, Path token) {
      Optional<ProcessHandle> left = leftRunning(run);
      if (left.isEmpty()) {
        return false;
      }
      // Only an agent that answers with its run dir's token is trusted, and nothing is killed by a
      // pid alone: the pid may since belong to another process.
      try {
        String secret = Files.readString(token, StandardCharsets.UTF_8).strip();
        connect(socket, secret);
        AgentProbe.check(id, client, connectTimeout);
        spec = new LocalAgentSpec(id, home, run, socket, token);
        handle = left.get();
        launcher.adopted(spec);
        log.info(
            "agent taken over: sandbox={} pid={} (left running by an earlier gateway)",
            id,
            handle.pid());
        return true;
      } catch (IOException | SandboxUnreachableException e) {
        log.warn(
            "sandbox {}: the agent an earlier gateway left does not answer ({}); starting anew",
            id,
            e.getMessage());
        closeClient();
        handle = null;
        spec = null;
        return false;
      }
    }

    /**
     * Frees the uid a stopped agent of this sandbox had from a spare, once none of its processes
     * runs: a new sandbox given it then shares it with nothing.
     */
    private void releaseHeldUid() {
      Path held = heldUid();
      try {
        if (!Files.isDirectory(held, LinkOption.NOFOLLOW_LINKS)) {
          return;
        }
        int uid = SandboxUids.ownerOf(held);
        // The agent's namespace is going: what is left of it ends within milliseconds.
        long deadline = System.nanoTime() + RELEASE_WAIT.toNanos();
        for (Optional<String> left = SandboxUids.processOf(uid);
            left.isPresent();
            left = SandboxUids.processOf(uid)) {
          if (System.nanoTime() > deadline) {
            log.info(
                "sandbox {}: processes of uid {} still run (pid {}); it stays held",
                id,
                uid,
                left.get());
            return;
          }
          Thread.sleep(10);
        }
        deleteUnmounted(held);
      } catch (IOException e) {
        log.info("sandbox {}: the uid of its last agent stays held: {}", id, e.toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /**
     * The live process whose pid an earlier gateway wrote in {@code run}'s pid file, if any; the
     * pid may since belong to another process, so it is trusted for nothing but this.
     */
    static Optional<ProcessHandle> leftRunning(Path run) {
      OptionalLong pid = readPid(run.resolve(PID_FILE));
      return pid.isPresent()
          ? ProcessHandle.of(pid.getAsLong()).filter(ProcessHandle::isAlive)
          : Optional.empty();
    }

    private static OptionalLong readPid(Path file) {
      try {
        return OptionalLong.of(
            Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).strip()));
      } catch (IOException | NumberFormatException e) {
        return OptionalLong.empty();
      }
    }

    /**
     * Lets go of an agent that holds named sessions as this gateway stops: it outlives the gateway
     * (see the agent's {@code --exit-with-stdin}) and the next one takes it over.
     */
    synchronized void leave() {
      log.info("leaving the agent of sandbox {} running for its named sessions", id);
      closeClient();
      if (process != null) {
        try {
          // What this gateway's exit would do: the agent sees its parent go and stays only for
          // its sessions.
          process.getOutputStream().close();
        } catch (IOException e) {
          // Already closed.
        }
      }
      if (spec != null) {
        // Its network helper goes with this gateway; its cgroup stays while it has processes.
        launcher.left(spec);
      }
      left = true;
    }

    private void onExit(Process p) {
      synchronized (this) {
        if (p != process || left) {
          return;
        }
        log.info("agent exited: sandbox={} pid={} status={}", id, p.pid(), p.exitValue());
        // What the agent left in its sandbox goes now, not at the next session.
        stopQuietly();
      }
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

    private void drainStderr(InputStream in) {
      // Bound to this start's log, which moves on with the process if a sandbox takes it.
      AgentOutput.eachLine(in, "agent-stderr-" + id, stderr::add);
    }

    private String stderrSummary() {
      return stderr.last();
    }

    synchronized void stop(String why) {
      if (process != null && process.isAlive()) {
        log.info("stopping agent: sandbox={} pid={}: {}", id, process.pid(), why);
      }
      stopQuietly();
    }

    private void stopQuietly() {
      closeClient();
      if (handle != null) {
        ProcessHandle h = handle;
        Process p = process;
        process = null;
        handle = null;
        // Everything under it: bwrap's init, the agent, the sandbox's processes. The agent's own
        // stop kills what it left in its namespace; whatever still runs after (the agent was
        // killed, or hangs) is killed here, since bwrap's init would keep the namespace for it.
        List<ProcessHandle> tree = new ArrayList<>(h.descendants().toList());
        tree.add(h);
        // SIGTERM to the agent and the sandbox's processes: the agent kills what it started and
        // exits at once (closing its stdin is the backstop). bwrap's two processes are left to
        // end after them, each reaped by its parent: killed first, they would be orphans whose
        // exit nobody may collect. A taken-over agent is not our child; its stdin is gone.
        tree.stream()
            .filter(member -> !IsolatedAgentLauncher.isBwrap(member.pid()))
            .forEach(ProcessHandle::destroy);
        if (p != null) {
          try {
            p.getOutputStream().close();
          } catch (IOException e) {
            // Already closed.
          }
        }
        try {
          h.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (Exception e) {
          // Still running at the deadline: killed below.
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
      }
      if (spec != null) {
        try {
          // Stopped by this gateway: nothing for the next one to take over.
          Files.deleteIfExists(spec.runDir().resolve(PID_FILE));
        } catch (IOException e) {
          log.debug("sandbox {}: pid file stays: {}", id, e.toString());
        }
        launcher.stopped(spec);
        spec = null;
      }
      // After the launcher's helpers (the network's runs as the agent's uid) are gone too.
      if (!id.startsWith(SPARE_PREFIX)) {
        releaseHeldUid();
      }
    }
  }

  /** An agent's stderr: logged under its sandbox's id, the last lines kept to explain a failure. */
  private static final class AgentLog {
    volatile String id; // a spare's until a sandbox takes it
    private final Deque<String> tail = new ArrayDeque<>();

    AgentLog(String id) {
      this.id = id;
    }

    void add(String line) {
      log.info("[agent {}] {}", id, line);
      synchronized (tail) {
        tail.addLast(line);
        if (tail.size() > STDERR_TAIL_LINES) {
          tail.removeFirst();
        }
      }
    }

    String last() {
      synchronized (tail) {
        return tail.isEmpty() ? "no output" : tail.getLast();
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
