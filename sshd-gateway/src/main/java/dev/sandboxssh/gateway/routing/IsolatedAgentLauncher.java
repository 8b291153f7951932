package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.config.GatewayConfig.Isolation;
import dev.sandboxssh.gateway.routing.unix.UidClaims;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts each local sandbox's agent as isolated as the machine allows and the config asks: inside
 * bubblewrap's user, PID, IPC, UTS, cgroup, mount and network namespaces, as an unprivileged host
 * uid (its own when the gateway is root), with a passwd view where it is {@code user} (uid 1000) in
 * {@code /home/user}, /etc from an allowlist, outbound network through slirp4netns, and limits from
 * cgroups and rlimits. {@link #probe} finds out once, at start, which parts are available; each
 * missing part is one line of {@link #missing()}.
 *
 * <p>What a sandbox sees: the host's /usr (and the /bin, /lib links) read-only, an allowlist of
 * /etc, its own directory as {@code /home/user} (its only writable host path), a private /tmp, its
 * own /proc, and nothing else of the host: not the gateway's data or keys, not other sandboxes, not
 * /root. The agent runs inside, so SFTP, scp and forwards see exactly what the sandbox's processes
 * see.
 */
public final class IsolatedAgentLauncher implements AgentLauncher {
  private static final Logger log = LoggerFactory.getLogger(IsolatedAgentLauncher.class);

  /** Where the sandbox directory appears inside: HOME of the sandbox user. */
  static final Path INNER_HOME = Path.of("/home/user");

  /** The agent's socket directory inside. */
  private static final Path INNER_RUN = Path.of("/run/sandbox-agent");

  private static final Path INNER_TOKEN = Path.of("/run/sandbox-agent.token");
  private static final String INNER_OPT = "/opt/sandbox-agent";

  /** sun_path holds 108 bytes on Linux, including the terminating NUL. */
  private static final int MAX_SOCKET_PATH = 107;

  /** The uid and gid of {@code user} inside, as in E2B's sandboxes. */
  private static final int INNER_UID = 1000;

  /** Where root stages what it binds (agent-launch.sh). */
  private static final String STAGE = "/tmp/.sandbox-ssh/";

  private static final List<String> SYSTEM_DIRS =
      List.of("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32");

  /**
   * What of the host's /etc a sandbox sees. An allowlist: a file the host adds to /etc later (a
   * credential, a key) stays out until someone adds it here. passwd, group, hosts, hostname,
   * resolv.conf and nsswitch.conf are the sandbox's own, written by the gateway.
   */
  private static final List<String> ETC_ALLOWLIST =
      List.of(
          "alternatives",
          "bash.bashrc",
          "bash_completion",
          "bash_completion.d",
          "bindresvport.blacklist",
          "ca-certificates",
          "ca-certificates.conf",
          "debian_version",
          "environment",
          "ethertypes",
          "fonts",
          "gai.conf",
          "gitconfig",
          "host.conf",
          "inputrc",
          "issue",
          "ld.so.cache",
          "ld.so.conf",
          "ld.so.conf.d",
          "locale.alias",
          "locale.gen",
          "localtime",
          "magic",
          "magic.mime",
          "manpath.config",
          "mime.types",
          "networks",
          "os-release",
          "perl",
          "profile",
          "profile.d",
          "protocols",
          "rpc",
          "services",
          "shells",
          "skel",
          "ssh/ssh_config",
          "ssh/ssh_config.d",
          "ssl/certs",
          "ssl/openssl.cnf",
          "terminfo",
          "timezone",
          "vim",
          "wgetrc",
          "xdg");

  /** Whole /etc entries by prefix: the JDKs' configuration and Python's site files. */
  private static final Pattern ETC_ALLOWED_PREFIX = Pattern.compile("(java-|python3).*");

  private static final Pattern CHILD_PID = Pattern.compile("\"child-pid\"\\s*:\\s*([0-9]+)");

  private final GatewayConfig.Local config;
  // Replaced once, by useAgentJar, before the first agent starts.
  private volatile AgentCommand command;
  private final boolean root;
  private final String cannotStage;
  private final String bwrap;
  private final String slirp4netns;
  private final SandboxCgroups cgroups;
  private final SandboxUids uids;
  private final UidClaims uidClaims; // null when not root, or when the host's file cannot be opened
  private final List<String> missing;
  private final String script;
  private final Map<String, Running> running = new ConcurrentHashMap<>();
  private volatile ScheduledFuture<?> limitWatch;
  private volatile AgentStartupCache startupCache;

  /**
   * The one thread that starts agents and their network helpers, so that no helper's lifetime can
   * hang on a session's thread (PR_SET_PDEATHSIG, as bwrap's --die-with-parent uses, fires when the
   * thread that forked exits, not the process). This thread lives as long as the launcher.
   */
  private final ExecutorService spawner =
      Executors.newSingleThreadExecutor(
          task -> {
            Thread t = new Thread(task, "agent-spawner");
            t.setDaemon(true);
            return t;
          });

  private IsolatedAgentLauncher(
      GatewayConfig.Local config,
      boolean root,
      String cannotStage,
      String bwrap,
      String slirp4netns,
      SandboxCgroups cgroups,
      UidClaims uidClaims,
      List<String> missing) {
    this.config = config;
    this.command = new AgentCommand(config.javaCommand());
    this.root = root;
    this.cannotStage = cannotStage;
    this.bwrap = bwrap;
    this.slirp4netns = slirp4netns;
    this.cgroups = cgroups;
    this.uidClaims = uidClaims;
    this.uids = root ? new SandboxUids(config.uidRange(), uidClaims) : null;
    this.missing = List.copyOf(missing);
    this.script = loadScript();
  }

  /**
   * Finds out which parts of the configured isolation this machine and this gateway's privileges
   * allow, and makes a launcher that uses them.
   */
  public static IsolatedAgentLauncher probe(GatewayConfig.Local config) {
    return probe(config, System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
  }

  /** As {@link #probe(GatewayConfig.Local)}, looking for bwrap and slirp4netns on {@code path}. */
  static IsolatedAgentLauncher probe(GatewayConfig.Local config, String path) {
    boolean root = uid() == 0;
    List<String> missing = new ArrayList<>();
    String cannotStage = root ? tryStaging() : null;
    if (cannotStage != null) {
      // Never the fallback: a sandbox that runs as the gateway's root is the defect itself.
      missing.add(
          "no local sandbox can start: root cannot make the private mount namespace in which it"
              + " hands each sandbox its files ("
              + cannotStage
              + "); grant CAP_SYS_ADMIN, or run the gateway as an ordinary user");
    }
    UidClaims uidClaims = null;
    if (root) {
      try {
        uidClaims = UidClaims.open(UidClaims.HOST);
      } catch (IOException e) {
        missing.add(
            "no host-wide claims on sandbox uids ("
                + e.getMessage()
                + "): give every gateway on this host a local.uid-range of its own");
      }
    }
    if (config.isolation() == Isolation.OFF) {
      missing.add("local.isolation is off: sandbox processes can read what the sandbox uid can");
      return new IsolatedAgentLauncher(
          config, root, cannotStage, null, null, null, uidClaims, missing);
    }
    String bwrap = null;
    String bwrapPath = which("bwrap", path);
    if (bwrapPath == null) {
      missing.add(
          "no namespaces: bubblewrap (bwrap) is not installed; sandbox processes see the host");
    } else {
      String failure = tryBwrap(bwrapPath, root, config.uidRange().first());
      if (failure == null) {
        bwrap = bwrapPath;
      } else {
        missing.add(
            "no namespaces: "
                + bwrapPath
                + " cannot create them here ("
                + failure
                + "); in a container, allow user namespaces (Docker: --security-opt"
                + " seccomp=unconfined --security-opt systempaths=unconfined)");
      }
    }
    if (!root) {
      missing.add(
          "no per-sandbox uid: the gateway is not root, so every sandbox runs as its uid " + uid());
    }
    String slirp = null;
    if (config.network() == GatewayConfig.Network.PRIVATE) {
      slirp = which("slirp4netns", path);
      if (bwrap == null) {
        slirp = null; // No network namespace to give a stack to: the host's network is shared.
      } else if (slirp == null) {
        missing.add(
            "no outbound network: slirp4netns is not installed; sandboxes have loopback only");
      } else if (!root) {
        missing.add(
            "no outbound network: slirp4netns needs the gateway to be root here; sandboxes have"
                + " loopback only");
        slirp = null;
      }
    }
    if (bwrap == null && config.network() == GatewayConfig.Network.PRIVATE) {
      missing.add("no network namespace: sandboxes share the host's network and its loopback");
    }
    SandboxCgroups cgroups = null;
    GatewayConfig.SandboxLimits limits = config.limits();
    boolean wantCgroup = limits.maxProcesses() > 0 || limits.memory() > 0 || limits.cpus() > 0;
    if (wantCgroup) {
      String[] why = new String[1];
      cgroups = SandboxCgroups.create(why).orElse(null);
      if (cgroups == null) {
        missing.add(
            "no memory or CPU limits: "
                + why[0]
                + (root && limits.maxProcesses() > 0
                    ? "; processes limited by RLIMIT_NPROC"
                    : "; processes unlimited"));
      }
    }
    return new IsolatedAgentLauncher(
        config, root, cannotStage, bwrap, slirp, cgroups, uidClaims, missing);
  }

  /** Whether root can stage files in a private mount namespace: null if so, else why not. */
  private static String tryStaging() {
    return run(
        List.of(
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "mount",
            "-t",
            "tmpfs",
            "sandbox-ssh",
            "/tmp"));
  }

  /** Runs the launch chain once with {@code true}; null when it works, else bwrap's complaint. */
  private static String tryBwrap(String bwrap, boolean root, long uid) {
    List<String> cmd = new ArrayList<>();
    if (root) {
      cmd.addAll(
          List.of(
              "setpriv",
              "--reuid=" + uid,
              "--regid=" + uid,
              "--clear-groups",
              "--inh-caps=-all",
              "--no-new-privs",
              "--"));
    }
    cmd.addAll(
        List.of(
            bwrap,
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-net",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--die-with-parent",
            "/usr/bin/true"));
    return run(cmd);
  }

  /** Runs {@code cmd}; null when it exits 0, else what it printed (or its status). */
  private static String run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      // Wait first: reading to end-of-file would block for as long as a hung probe lives. What
      // these probes print (an error line) fits in the pipe, so they never block on it.
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "timed out";
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.exitValue() == 0 ? null : (out.isEmpty() ? "exit " + p.exitValue() : out);
    } catch (IOException e) {
      return e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private static String which(String name, String path) {
    for (String dir : path.split(":")) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return null;
  }

  private static int uid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | UnsupportedOperationException e) {
      return -1;
    }
  }

  /** Logs every limit a sandbox hits, polling its cgroup once a second on {@code scheduler}. */
  public void watchLimits(ScheduledExecutorService scheduler) {
    if (cgroups != null) {
      limitWatch = scheduler.scheduleWithFixedDelay(this::reportLimits, 1, 1, TimeUnit.SECONDS);
    }
  }

  /** Each part of the configured isolation this gateway cannot give, one line each. */
  public List<String> missing() {
    return missing;
  }

  @Override
  public boolean confined() {
    return bwrap != null;
  }

  @Override
  public String describe() {
    List<String> parts = new ArrayList<>();
    parts.add(bwrap != null ? "bubblewrap namespaces" : "no namespaces");
    parts.add(root ? "a uid per sandbox from " + config.uidRange() : "the gateway's uid");
    parts.add(
        slirp4netns != null
            ? "private network with outbound through slirp4netns"
            : bwrap != null ? "loopback-only network" : "the host's network");
    parts.add(cgroups != null ? "limits through " + cgroups.describe() : "rlimits only");
    return String.join(", ", parts);
  }

  /**
   * Runs the agents started from now on from the agent jar the gateway's jar carries, unpacked
   * under {@code dir}; keeps the gateway's own classpath when it carries none. Call before the
   * first agent starts.
   */
  public void useAgentJar(Path dir) throws IOException {
    command = command.withClasspath(AgentJar.classpath(command.classpath(), dir));
    log.info("agents run from {}", String.join(File.pathSeparator, command.classpath()));
  }

  /**
   * Makes (or finds) the agent start-up cache under {@code dir} and starts using it; does nothing
   * where it cannot apply. Blocks for a training run of some CPU seconds: call it off the way.
   */
  public void prepareStartupCache(Path dir) {
    String why = startupCacheUnavailable();
    if (why != null) {
      log.info("agent start-up cache: none ({})", why);
      return;
    }
    AgentStartupCache cache = new AgentStartupCache(dir, command.java(), command.classpath());
    cache.make(
        new AgentStartupCache.Trainer() {
          @Override
          public Process launch(LocalAgentSpec spec, Path out) throws IOException {
            return IsolatedAgentLauncher.this.launch(spec, out);
          }

          @Override
          public void giveToSandbox(Path sandboxDir, Path dir) throws IOException {
            if (uids != null) {
              // Owned before launch, so uidFor keeps the training run's own uid for it.
              SandboxUids.chownTree(sandboxDir, uids.trainingUid());
              SandboxUids.chown(dir, uids.trainingUid());
            }
          }

          @Override
          public void stopped(LocalAgentSpec spec) {
            IsolatedAgentLauncher.this.stopped(spec);
          }
        });
    startupCache = cache;
  }

  /** Why agents cannot use a start-up cache here, or null when they can. */
  private String startupCacheUnavailable() {
    if (!config.startupCache()) {
      return "local.startup-cache is off";
    }
    if (bwrap == null) {
      return "only confined agents use one";
    }
    if (config.javaCommand() != null || Runtime.version().feature() < 25) {
      return "it needs the gateway's own JVM at JDK 25 or later";
    }
    for (String entry : command.classpath()) {
      // The JVM caches classes from jar files only.
      if (Files.isDirectory(Path.of(entry))) {
        return "the classpath has a directory: " + entry;
      }
    }
    return null;
  }

  @Override
  public Process launch(LocalAgentSpec spec) throws IOException {
    return launch(spec, null);
  }

  /** Starts an agent; with {@code trainingOutput}, one that writes a start-up cache there. */
  private Process launch(LocalAgentSpec spec, Path trainingOutput) throws IOException {
    if (cannotStage != null) {
      throw new IOException(
          "root cannot make the private mount namespace for the sandbox's files: " + cannotStage);
    }
    if (config.isolation() == Isolation.REQUIRED && !missing.isEmpty()) {
      throw new IOException(
          "local.isolation is required, but this gateway cannot give it: "
              + String.join("; ", missing));
    }
    stopped(spec);
    Integer uid = uids != null ? uids.uidFor(spec.sandboxDir()) : null;
    Path agentDir = spec.runDir().resolve("agent");
    Files.createDirectories(agentDir);
    Files.setPosixFilePermissions(agentDir, PosixFilePermissions.fromString("rwx------"));
    if (uid != null) {
      // The agent creates its socket here; the run dir above stays the gateway's, so the sandbox
      // cannot swap the token or the etc files for links into the host.
      SandboxUids.chown(agentDir, uid);
      SandboxUids.chown(spec.tokenFile(), uid);
    }
    SandboxCgroups.Sandbox cgroup =
        cgroups != null ? cgroups.forSandbox(spec.sandboxId(), config.limits()) : null;
    Path info = spec.runDir().resolve("bwrap-info.json");
    Files.deleteIfExists(info);
    boolean slirp = slirp4netns != null;
    Stage stage = new Stage(uid != null);

    List<String> inner = new ArrayList<>();
    List<String> agentCp = new ArrayList<>();
    List<String> jvmOptions = new ArrayList<>();
    // Classpath entries by their index: the name each is staged and bound under.
    Map<Integer, Path> classpath = new TreeMap<>();
    for (int i = 0; i < command.classpath().size(); i++) {
      Path entry = Path.of(command.classpath().get(i));
      if (Files.exists(entry)) {
        classpath.put(i, entry);
      }
    }
    String java = command.java();
    String agentHome;
    if (bwrap != null) {
      agentHome = INNER_HOME.toString();
      inner.addAll(bwrapArgs(spec, stage, agentDir, slirp));
      classpath.forEach(
          (i, entry) -> {
            String at = INNER_OPT + "/lib/" + i + (entry.toString().endsWith(".jar") ? ".jar" : "");
            inner.addAll(List.of("--ro-bind", stage.source(entry, "cp" + i), at));
            agentCp.add(at);
          });
      Path javaHome = Path.of(java).toAbsolutePath().getParent().getParent();
      if (!javaHome.startsWith("/usr")) {
        inner.addAll(List.of("--ro-bind", stage.source(javaHome, "jdk"), INNER_OPT + "/jdk"));
        java = INNER_OPT + "/jdk/bin/java";
      }
      // Every agent sees the cache at one path, as the training run wrote it.
      AgentStartupCache cache = startupCache;
      Path cacheFile = cache != null ? cache.file() : null;
      if (trainingOutput != null) {
        inner.addAll(
            List.of("--bind", stage.source(trainingOutput, "aot-out"), INNER_OPT + "/aot-out"));
        jvmOptions.add("-XX:AOTCacheOutput=" + INNER_OPT + "/aot-out/agent.aot");
      } else if (cacheFile != null) {
        inner.addAll(
            List.of("--ro-bind", stage.source(cacheFile, "aot"), INNER_OPT + "/agent.aot"));
        jvmOptions.add("-XX:AOTCache=" + INNER_OPT + "/agent.aot");
      }
      inner.add("--");
      inner.addAll(
          AgentCommand.build(
              java,
              agentCp,
              jvmOptions,
              Path.of("/tmp"),
              INNER_RUN.resolve(spec.socket().getFileName()),
              INNER_TOKEN,
              INNER_HOME,
              null));
      // Its PID namespace: nothing left in it may outlive the agent (bwrap's init stays while
      // any process does).
      inner.add("--own-pid-namespace");
    } else {
      // Unconfined: the agent sees the host, with only its file API held to the sandbox dir.
      classpath.forEach((i, entry) -> agentCp.add(stage.source(entry, "cp" + i)));
      Path home = Path.of(stage.source(spec.sandboxDir(), "home"));
      Path run = Path.of(stage.source(agentDir, "agent"));
      agentHome = home.toString();
      // This agent binds its socket at a host path (a confined one binds /run/sandbox-agent's);
      // the gateway connects through a handle, whatever the length.
      Path socket = run.resolve(spec.socket().getFileName());
      if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
        throw new IOException(
            "socket path too long for a unix socket (" + socket + "); use a shorter --data-dir");
      }
      inner.addAll(
          AgentCommand.build(
              java,
              agentCp,
              jvmOptions,
              run,
              socket,
              Path.of(stage.source(spec.tokenFile(), "token")),
              home,
              home));
    }

    List<String> cmd = new ArrayList<>();
    if (stage.active) {
      // Slave, as bwrap makes its own: a spare's home, a shared mount on the host, keeps passing on
      // what is mounted on it later (a used sandbox's home, see Mounts); nothing mounted here
      // reaches the host.
      cmd.addAll(List.of("unshare", "--mount", "--propagation", "slave", "--"));
    }
    cmd.addAll(List.of("/bin/bash", "-c", script, "agent-launch"));
    cmd.add(uid != null ? Integer.toString(uid) : "");
    cmd.add(
        cgroup != null
            ? String.join(":", cgroup.procsFiles().stream().map(Path::toString).toList())
            : "");
    GatewayConfig.SandboxLimits limits = config.limits();
    cmd.add(limits.maxOpenFiles() > 0 ? Integer.toString(limits.maxOpenFiles()) : "");
    // Without a pids cgroup, RLIMIT_NPROC is the fallback; it counts the sandbox uid's tasks, so
    // it only means "this sandbox" when that uid is the sandbox's own.
    cmd.add(
        cgroup == null && uid != null && limits.maxProcesses() > 0
            ? Integer.toString(limits.maxProcesses())
            : "");
    cmd.add(bwrap != null ? info.toString() : "");
    cmd.add(Integer.toString(stage.sources.size()));
    for (String[] s : stage.sources) {
      cmd.add(s[0]);
      cmd.add(s[1]);
    }
    cmd.add("--");
    cmd.addAll(inner);

    ProcessBuilder builder = new ProcessBuilder(cmd).directory(Path.of("/").toFile());
    // The agent builds its processes' environment itself; pass it nothing of the gateway's.
    builder.environment().keySet().retainAll(List.of("PATH", "LANG", "TZ"));
    builder.environment().put("HOME", agentHome);
    Process process = spawn(builder);
    running.put(spec.sandboxId(), new Running(cgroup, bwrap != null ? info : null));
    return process;
  }

  private List<String> bwrapArgs(LocalAgentSpec spec, Stage stage, Path agentDir, boolean network)
      throws IOException {
    boolean asRoot = config.user() == GatewayConfig.InnerUser.ROOT;
    int innerUid = asRoot ? 0 : INNER_UID;
    List<String> args = new ArrayList<>();
    args.add(bwrap);
    args.addAll(
        List.of(
            "--unshare-user",
            "--uid",
            Integer.toString(innerUid),
            "--gid",
            Integer.toString(innerUid),
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-net",
            "--unshare-cgroup-try",
            // Threat: user namespaces nested inside are the usual way into kernel bugs.
            "--disable-userns",
            "--hostname",
            spec.sandboxId(),
            // Threat: a sandbox process injecting keystrokes into the gateway's terminal.
            // No --die-with-parent: an agent that holds named sessions outlives the gateway
            // (--exit-with-stdin ends every other one, and the namespace goes with the agent).
            "--new-session"));
    for (String dir : SYSTEM_DIRS) {
      Path p = Path.of(dir);
      if (Files.isSymbolicLink(p)) {
        // Merged-/usr systems: /bin -> usr/bin. Recreate the link rather than binding twice.
        args.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), dir));
      } else if (Files.isDirectory(p)) {
        args.addAll(List.of("--ro-bind", dir, dir));
      }
    }
    for (String entry : etcEntries()) {
      args.addAll(List.of("--ro-bind", "/etc/" + entry, "/etc/" + entry));
    }
    Path etc = writeEtc(spec, asRoot, network);
    // Staged as one directory: each staged entry is a process in the launch chain.
    String etcSource = stage.source(etc, "etc");
    try (var files = Files.list(etc)) {
      for (Path f : files.sorted().toList()) {
        String name = f.getFileName().toString();
        args.addAll(List.of("--ro-bind", etcSource + "/" + name, "/etc/" + name));
      }
    }
    args.addAll(
        List.of(
            "--symlink",
            "/proc/self/mounts",
            "/etc/mtab",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "--dir",
            "/var/tmp",
            "--bind",
            stage.source(spec.sandboxDir(), "home"),
            INNER_HOME.toString(),
            "--bind",
            stage.source(agentDir, "agent"),
            INNER_RUN.toString(),
            "--ro-bind",
            stage.source(spec.tokenFile(), "token"),
            INNER_TOKEN.toString()));
    // The init's pid: the network helper joins its namespace, and a stop kills what is left in it.
    args.addAll(List.of("--info-fd", "3"));
    args.addAll(
        List.of(
            "--chdir",
            INNER_HOME.toString(),
            "--clearenv",
            "--setenv",
            "HOME",
            INNER_HOME.toString(),
            "--setenv",
            "PATH",
            "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "--setenv",
            "LANG",
            "C.UTF-8"));
    return args;
  }

  /** The allowlisted entries of the host's /etc that exist, as paths relative to /etc. */
  private static List<String> etcEntries() {
    List<String> entries = new ArrayList<>();
    for (String entry : ETC_ALLOWLIST) {
      if (Files.exists(Path.of("/etc", entry), LinkOption.NOFOLLOW_LINKS)) {
        entries.add(entry);
      }
    }
    try (var all = Files.list(Path.of("/etc"))) {
      all.map(p -> p.getFileName().toString())
          .filter(name -> ETC_ALLOWED_PREFIX.matcher(name).matches())
          .sorted()
          .forEach(entries::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return entries;
  }

  /** The sandbox's own passwd, group, hosts, hostname, resolv.conf and nsswitch.conf. */
  private static Path writeEtc(LocalAgentSpec spec, boolean asRoot, boolean network)
      throws IOException {
    Path etc = spec.runDir().resolve("etc");
    Files.createDirectories(etc);
    // bwrap, as the sandbox's uid, reads the files through this directory.
    Files.setPosixFilePermissions(etc, PosixFilePermissions.fromString("rwxr-xr-x"));
    String id = spec.sandboxId();
    String passwd =
        "root:x:0:0:root:"
            + (asRoot ? INNER_HOME : "/root")
            + ":/bin/bash\n"
            + (asRoot ? "" : "user:x:1000:1000:user:/home/user:/bin/bash\n")
            + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    String group = "root:x:0:\n" + (asRoot ? "" : "user:x:1000:\n") + "nogroup:x:65534:\n";
    write(etc.resolve("passwd"), passwd);
    write(etc.resolve("group"), group);
    write(etc.resolve("hostname"), id + "\n");
    write(etc.resolve("hosts"), hosts(id));
    // slirp4netns answers DNS on 10.0.2.3 and forwards to the host's resolvers.
    write(etc.resolve("resolv.conf"), network ? "nameserver 10.0.2.3\n" : "");
    write(
        etc.resolve("nsswitch.conf"),
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n");
    return etc;
  }

  private static String hosts(String id) {
    return "127.0.0.1\tlocalhost " + id + "\n::1\tlocalhost ip6-localhost\n";
  }

  private static void write(Path file, String text) throws IOException {
    Files.deleteIfExists(file);
    Files.writeString(file, text, StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
  }

  @Override
  public Pending listening(LocalAgentSpec spec, Process agent) throws IOException {
    Running r = running.get(spec.sandboxId());
    if (r == null || r.info == null || slirp4netns == null) {
      return Pending.NONE;
    }
    long pid = childPid(r.info);
    // Threat: without --disable-host-loopback, 10.0.2.2 inside reaches every service on the
    // host's 127.0.0.1 (the gateway itself, databases, other sandboxes' forwarded ports).
    ProcessBuilder pb =
        new ProcessBuilder(
            slirp4netns,
            "--configure",
            "--mtu=65520",
            "--disable-host-loopback",
            // It exits when the gateway goes away: its stdin is our pipe.
            "--exit-fd=0",
            "--ready-fd=1",
            "--netns-type=path",
            "/proc/" + pid + "/ns/net",
            "tap0");
    Process slirp = spawn(pb);
    r.slirp = slirp;
    // Its messages apart from the ready byte: an error's usage text must not pass for ready.
    drain(slirp.getErrorStream(), spec.sandboxId());
    return () -> {
      int ready = -1;
      try {
        // --ready-fd writes "1" once the tap device is configured, and nothing else.
        ready = slirp.getInputStream().read();
      } finally {
        if (ready != '1') {
          slirp.destroyForcibly();
          String message = "slirp4netns did not start for sandbox " + spec.sandboxId();
          if (config.isolation() == Isolation.REQUIRED) {
            throw new IOException(message);
          }
          log.warn("{}: it has loopback only", message);
        }
      }
    };
  }

  private static void drain(InputStream out, String id) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                  log.debug("[slirp4netns {}] {}", id, line);
                }
              } catch (IOException e) {
                // Gone with the sandbox.
              }
            },
            "slirp4netns-" + id);
    t.setDaemon(true);
    t.start();
  }

  private static long childPid(Path info) throws IOException {
    String text = Files.readString(info, StandardCharsets.UTF_8);
    Matcher m = CHILD_PID.matcher(text);
    if (!m.find()) {
      throw new IOException("bwrap wrote no child pid to " + info);
    }
    return Long.parseLong(m.group(1));
  }

  @Override
  public boolean reassigns() {
    // The host name lives in the sandbox's UTS namespace, which only root may enter from outside
    // (a gateway's own uid owns the user namespace, but loses its capabilities at the exec).
    return bwrap != null && root;
  }

  @Override
  public void reassigned(LocalAgentSpec from, LocalAgentSpec to) throws IOException {
    Running r = running.remove(from.sandboxId());
    if (r == null || r.info == null) {
      throw new IOException("no confined agent of " + from.sandboxId() + " runs");
    }
    // Its cgroup keeps the name it was made with: renaming one directory per v1 controller could
    // fail half-way, and the limits are every sandbox's.
    Running moved = new Running(r.cgroup, to.runDir().resolve(r.info.getFileName()));
    moved.slirp = r.slirp;
    running.put(to.sandboxId(), moved);
    String id = to.sandboxId();
    // Bound into the sandbox file by file: only a rewrite in place shows through the bind.
    Path etc = to.runDir().resolve("etc");
    rewrite(etc.resolve("hostname"), id + "\n");
    rewrite(etc.resolve("hosts"), hosts(id));
    String failure =
        run(
            List.of(
                "nsenter",
                "--target",
                Long.toString(childPid(moved.info)),
                "--uts",
                "hostname",
                id));
    if (failure != null) {
      throw new IOException("cannot name the sandbox " + id + ": " + failure);
    }
  }

  private static void rewrite(Path file, String text) throws IOException {
    Files.writeString(
        file,
        text,
        StandardCharsets.UTF_8,
        StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING);
  }

  @Override
  public void adopted(LocalAgentSpec spec) throws IOException {
    Path info = spec.runDir().resolve("bwrap-info.json");
    // The old gateway's cgroup still holds the agent and applies its limits; only the network
    // helper died with that gateway.
    running.put(spec.sandboxId(), new Running(null, Files.exists(info) ? info : null));
    listening(spec, null).finish();
  }

  @Override
  public void left(LocalAgentSpec spec) {
    Running r = running.remove(spec.sandboxId());
    if (r != null && r.slirp != null) {
      r.slirp.destroy();
    }
  }

  @Override
  public void stopped(LocalAgentSpec spec) {
    Running r = running.remove(spec.sandboxId());
    if (r == null) {
      return;
    }
    if (r.slirp != null) {
      r.slirp.destroy();
    }
    if (r.info != null) {
      killNamespace(r.info);
    }
    if (r.cgroup != null) {
      // Report what happened in the last second before the cgroup goes.
      logLimitEvents(spec.sandboxId(), r.cgroup);
      r.cgroup.remove();
    }
  }

  /**
   * Kills the sandbox's PID namespace through its init, bwrap's, which stays while any process does
   * (one the agent could not kill because it was killed itself). The pid is checked to still be a
   * namespace's init run by bwrap, since it may have been reused.
   */
  private static void killNamespace(Path info) {
    long pid;
    try {
      pid = childPid(info);
      String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
      boolean init =
          status.lines().anyMatch(l -> l.startsWith("NSpid:") && l.trim().endsWith("\t1"));
      if (!init || !isBwrap(pid)) {
        return;
      }
    } catch (IOException e) {
      return; // Gone already.
    }
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  /** Whether process {@code pid} runs bwrap; false when it is gone. */
  static boolean isBwrap(long pid) {
    try {
      // From /proc: ProcessHandle.Info has no command for a process in another mount namespace.
      String argv0 =
          Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).split("\0", 2)[0];
      return argv0.endsWith("/bwrap") || argv0.equals("bwrap");
    } catch (IOException e) {
      return false;
    }
  }

  private void reportLimits() {
    running.forEach(
        (id, r) -> {
          if (r.cgroup != null) {
            logLimitEvents(id, r.cgroup);
          }
        });
  }

  private static void logLimitEvents(String id, SandboxCgroups.Sandbox cgroup) {
    for (String event : cgroup.newLimitEvents()) {
      log.warn("sandbox {}: {}", id, event);
    }
  }

  @Override
  public void close() {
    ScheduledFuture<?> watch = limitWatch;
    if (watch != null) {
      watch.cancel(false);
    }
    if (cgroups != null) {
      cgroups.close();
    }
    if (uidClaims != null) {
      // Agents that outlive the gateway keep their uids from other gateways all the same: a uid
      // any process runs as is never handed out (SandboxUids).
      uidClaims.close();
    }
    spawner.shutdown();
  }

  /** Starts {@code builder}'s process from the spawner thread (see {@link #spawner}). */
  private Process spawn(ProcessBuilder builder) throws IOException {
    Future<Process> started = spawner.submit(builder::start);
    try {
      return started.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // It may still start: make sure it does not outlive the interrupted launch.
      spawner.execute(
          () -> {
            try {
              started.get().destroyForcibly();
            } catch (Exception ignored) {
              // Never started.
            }
          });
      throw new IOException("interrupted while starting " + builder.command().get(0), e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException(e.getCause());
    }
  }

  private static String loadScript() {
    try (InputStream in = IsolatedAgentLauncher.class.getResourceAsStream("agent-launch.sh")) {
      if (in == null) {
        throw new IllegalStateException("agent-launch.sh missing from the gateway's classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One started agent's cgroup and network helper. */
  private static final class Running {
    final SandboxCgroups.Sandbox cgroup;
    final Path info;
    volatile Process slirp;

    Running(SandboxCgroups.Sandbox cgroup, Path info) {
      this.cgroup = cgroup;
      this.info = info;
    }
  }

  /**
   * Host paths an agent needs: as they are, or (when dropping to a sandbox uid, which may not be
   * able to reach them) staged by root under {@link #STAGE} in the agent's own mount namespace.
   */
  private static final class Stage {
    final boolean active;
    final List<String[]> sources = new ArrayList<>();

    Stage(boolean active) {
      this.active = active;
    }

    /** The path under which the launch chain reaches {@code hostPath}. */
    String source(Path hostPath, String name) {
      if (!active) {
        return hostPath.toAbsolutePath().toString();
      }
      for (String[] s : sources) {
        if (s[1].equals(name)) {
          return STAGE + name;
        }
      }
      sources.add(new String[] {hostPath.toAbsolutePath().toString(), name});
      return STAGE + name;
    }
  }
}
