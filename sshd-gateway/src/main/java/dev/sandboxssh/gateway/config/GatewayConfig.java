package dev.sandboxssh.gateway.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Every setting of a gateway, validated once at start. {@code config/gateway.yaml} documents each
 * with its default; {@link ConfigLoader} reads that file, and command-line flags override it.
 *
 * @param host address to listen on
 * @param port TCP port; 0 picks a free one (tests)
 * @param dataDir the ownership database (SQLite) and local sandboxes live here
 * @param keysDir host keys live here
 * @param databaseUrl JDBC URL of the ownership table; null means SQLite in {@code dataDir}
 * @param databasePasswordFile a file holding the database password (PostgreSQL); null for none
 * @param databaseCacheTime how long owner and sandbox lookups are reused; zero means never
 * @param kubernetes sandboxes as pods
 */
public record GatewayConfig(
    String host,
    int port,
    Path dataDir,
    Path keysDir,
    String databaseUrl,
    Path databasePasswordFile,
    Duration databaseCacheTime,
    HostKeys hostKeys,
    Agent agent,
    Local local,
    Env env,
    Limits limits,
    Forwarding forwarding,
    Keepalive keepalive,
    Sftp sftp,
    Sessions sessions,
    PreAuth preAuth,
    Auth auth,
    Metrics metrics,
    Audit audit,
    Shutdown shutdown,
    Kubernetes kubernetes) {

  /** Spare agents are idle JVMs of some tens of MB each: more than a few is a typing error. */
  public static final int MAX_SPARE_AGENTS = 16;

  /** The most agents {@code local.agent-starts} lets start at once. */
  public static final int MAX_AGENT_STARTS = 256;

  /**
   * @param rsa also offer an RSA host key (3072 bits), for clients that know nothing newer
   */
  public record HostKeys(boolean rsa) {}

  /**
   * @param connectTimeout how long a session waits for a sandbox's agent before it fails with "did
   *     not answer"
   */
  public record Agent(Duration connectTimeout) {}

  /**
   * How local sandboxes are isolated: BEST_EFFORT uses what the machine allows and logs a line for
   * each missing part, REQUIRED refuses to start a sandbox with less than the configured isolation,
   * OFF runs agents unconfined (their filesystem API still path-checked).
   */
  public enum Isolation {
    BEST_EFFORT,
    REQUIRED,
    OFF
  }

  /**
   * A local sandbox's network: PRIVATE has outbound through a user-mode stack, NONE loopback only.
   */
  public enum Network {
    PRIVATE,
    NONE
  }

  /**
   * Who a local sandbox's processes are inside: {@code user} (uid 1000) or {@code root} (uid 0).
   */
  public enum InnerUser {
    USER,
    ROOT
  }

  /**
   * Host uids given to local sandboxes when the gateway runs as root, one per sandbox.
   *
   * @param first the lowest uid of the range
   * @param last the highest uid of the range
   */
  public record UidRange(long first, long last) {
    /** Parses {@code FIRST-LAST}; null when the text is not of that form. */
    public static UidRange parse(String text) {
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("([0-9]{1,10})-([0-9]{1,10})").matcher(text.trim());
      return m.matches()
          ? new UidRange(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))
          : null;
    }

    /** Whether {@code uid}, read as unsigned, is in the range. */
    public boolean contains(int uid) {
      long u = Integer.toUnsignedLong(uid);
      return u >= first && u <= last;
    }

    @Override
    public String toString() {
      return first + "-" + last;
    }
  }

  /**
   * Limits of one local sandbox, its agent included; 0 means unlimited.
   *
   * @param maxProcesses tasks (processes and threads) at once
   * @param memory bytes of memory, page cache included; the biggest process is killed beyond it
   * @param cpus a cap on CPU time as a number of cores (1.5 = one and a half); without one, each
   *     sandbox still gets only an equal share of a contended CPU (its cgroup's weight)
   * @param maxOpenFiles open files per process (RLIMIT_NOFILE)
   */
  public record SandboxLimits(int maxProcesses, long memory, double cpus, int maxOpenFiles) {}

  /**
   * The {@code local} provider.
   *
   * @param idleTimeout an agent with no session for this long is stopped
   * @param isolation how strictly sandboxes are isolated
   * @param network the sandbox's network
   * @param user who the sandbox's processes are inside
   * @param uidRange host uids for sandboxes when the gateway runs as root
   * @param limits per-sandbox limits
   * @param javaCommand the java binary that runs agents; null means this JVM's
   * @param startupCache whether confined agents start from an AOT cache of the agent's start-up
   *     (JDK 25 or later), made once per gateway jar and JDK by a training run in a sandbox of its
   *     own
   * @param spareAgents confined agents kept started ahead, each in a sandbox of no id yet, for the
   *     first login to a sandbox whose agent is not running (0 = none; only a root gateway can hand
   *     one over)
   * @param idmappedHomes whether a spare agent takes a used sandbox's home through an idmapped
   *     mount (nothing on disk changes, whatever the number of files) where the kernel allows it,
   *     rather than by giving each file to the spare's uid
   * @param agentStarts agents that may start at once, spares included (0 = one per core): a start
   *     is bound by CPU, so more at once only slow each other down
   */
  public record Local(
      Duration idleTimeout,
      Isolation isolation,
      Network network,
      InnerUser user,
      UidRange uidRange,
      SandboxLimits limits,
      String javaCommand,
      boolean startupCache,
      int spareAgents,
      boolean idmappedHomes,
      int agentStarts) {

    /** This config with another isolation mode. */
    public Local withIsolation(Isolation isolation) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }

    /** This config with other limits. */
    public Local withLimits(SandboxLimits limits) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }

    /** This config with another idle timeout. */
    public Local withIdleTimeout(Duration idleTimeout) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }

    /** This config with this many spare agents. */
    public Local withSpareAgents(int spareAgents) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }

    /** This config with or without idmapped homes for spare agents. */
    public Local withIdmappedHomes(boolean idmappedHomes) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }

    /** This config with at most this many agents starting at once. */
    public Local withAgentStarts(int agentStarts) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }

    /** This config with or without the agent start-up cache. */
    public Local withStartupCache(boolean startupCache) {
      return new Local(
          idleTimeout,
          isolation,
          network,
          user,
          uidRange,
          limits,
          javaCommand,
          startupCache,
          spareAgents,
          idmappedHomes,
          agentStarts);
    }
  }

  /**
   * Which {@code env} / {@code SetEnv} names reach the started process (others are ignored, as
   * sshd's AcceptEnv does). A pattern is a name or a prefix ending in {@code *}.
   *
   * @param allow the default list: LANG, LC_*, TERM, COLORTERM, GIT_PROTOCOL
   * @param extra added to {@code allow} by the operator
   */
  public record Env(List<String> allow, List<String> extra) {
    /** Copies the lists. */
    public Env {
      allow = List.copyOf(allow);
      extra = List.copyOf(extra);
    }

    /** Both lists together. */
    public List<String> patterns() {
      List<String> all = new ArrayList<>(allow);
      all.addAll(extra);
      return all;
    }
  }

  /**
   * Bounds on what one client may ask for.
   *
   * @param maxPtyCols larger pty-req / window-change widths are clamped to this
   * @param maxPtyRows larger heights are clamped to this
   * @param maxEnvValueBytes longer env values are refused
   * @param maxEnvVars env requests beyond this many per channel are refused
   * @param maxSessionsPerConnection open session channels per connection (sshd's MaxSessions); a
   *     channel open past it is refused, the connection goes on
   * @param maxChannelsPerConnection open channels of any kind per connection, forwarded connections
   *     included; a channel open past it is refused
   * @param maxConnectionsPerOwner authenticated connections at once to one owner's sandboxes (and
   *     menu); 0 means unlimited
   * @param maxConnectionsPerSandbox authenticated connections at once to one sandbox; 0 means
   *     unlimited
   */
  public record Limits(
      int maxPtyCols,
      int maxPtyRows,
      int maxEnvValueBytes,
      int maxEnvVars,
      int maxSessionsPerConnection,
      int maxChannelsPerConnection,
      int maxConnectionsPerOwner,
      int maxConnectionsPerSandbox) {}

  /**
   * Port, socket and agent forwarding. X11 is always refused.
   *
   * @param local {@code direct-tcpip} ({@code ssh -L}, {@code -D})
   * @param remote {@code tcpip-forward} ({@code ssh -R})
   * @param streamLocal unix-socket forwarding in both directions
   * @param agent {@code ssh -A}
   * @param permitOpen targets {@code direct-tcpip} may dial, as {@code host:port} with {@code *}
   *     for any host or port
   */
  public record Forwarding(
      boolean local, boolean remote, boolean streamLocal, boolean agent, List<String> permitOpen) {
    /** Copies the list. */
    public Forwarding {
      permitOpen = List.copyOf(permitOpen);
    }
  }

  /**
   * Liveness of connections.
   *
   * @param interval the gateway sends a keepalive after this much silence from the client
   * @param countMax the connection is closed after this many unanswered keepalives
   * @param idleTimeout a connection with no traffic for this long is closed; zero means never
   */
  public record Keepalive(Duration interval, int countMax, Duration idleTimeout) {}

  /**
   * SFTP server limits.
   *
   * @param maxOpenHandles open file and directory handles per channel
   * @param maxReadBytes largest read request served (larger ones are shortened)
   * @param maxWriteBytes largest write request accepted
   */
  public record Sftp(int maxOpenHandles, int maxReadBytes, int maxWriteBytes) {}

  /**
   * Named sessions ({@code ssh SANDBOX+NAME@gateway}), which outlive their connection.
   *
   * @param detachedTimeout a named session with no client attached for this long is hung up; zero
   *     means never
   */
  public record Sessions(Duration detachedTimeout) {
    /** This config with another detached timeout. */
    public Sessions withDetachedTimeout(Duration timeout) {
      return new Sessions(timeout);
    }
  }

  /**
   * What a connection may do before it has authenticated: the defences of a gateway that faces the
   * internet.
   *
   * @param graceTime a connection not authenticated after this long is closed (sshd's
   *     LoginGraceTime)
   * @param maxStartups the cap on unauthenticated connections, with random early drop
   * @param penalties refusal of sources that keep failing
   */
  public record PreAuth(Duration graceTime, MaxStartups maxStartups, Penalties penalties) {}

  /**
   * sshd's MaxStartups {@code start:rate:full}: past {@code start} unauthenticated connections a
   * new one is dropped with probability {@code rate}% rising linearly to 100% at {@code full}.
   */
  public record MaxStartups(int start, int rate, int full) {
    /** Parses {@code start:rate:full}, or a single number {@code n} meaning {@code n:100:n}. */
    public static MaxStartups parse(String text) {
      String[] parts = text.trim().split(":", -1);
      try {
        if (parts.length == 1) {
          int n = Integer.parseInt(parts[0]);
          return new MaxStartups(n, 100, n);
        }
        if (parts.length == 3) {
          return new MaxStartups(
              Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(
          "expected START:RATE:FULL or a number, got '" + text + "'");
    }

    @Override
    public String toString() {
      return start + ":" + rate + ":" + full;
    }
  }

  /**
   * OpenSSH 9.8's PerSourcePenalties: each bad event adds its time to its source's penalty; once a
   * source's penalty reaches {@code min} its new connections are refused until it has run out.
   * Penalties are kept per address (IPv4) or per /64 (IPv6), so one source's failures never refuse
   * another's logins.
   *
   * @param enabled whether sources are penalised at all
   * @param authFailure added for a connection that tried to authenticate and failed
   * @param noAuth added for a connection that closed without trying to authenticate
   * @param graceExceeded added for a connection closed by the login grace time
   * @param min a source is refused once its penalty reaches this
   * @param max a penalty never grows past this
   * @param exempt addresses or CIDR ranges never penalised
   */
  public record Penalties(
      boolean enabled,
      Duration authFailure,
      Duration noAuth,
      Duration graceExceeded,
      Duration min,
      Duration max,
      List<String> exempt) {
    /** Copies the list. */
    public Penalties {
      exempt = List.copyOf(exempt);
    }
  }

  /**
   * Who may authenticate beyond an owner's plain keys.
   *
   * @param certificatePrincipals what an OpenSSH user certificate's principals must name for a
   *     login: any of these
   * @param revokedKeys an OpenSSH KRL or a file of public keys, one per line; a key or certificate
   *     listed (or signed by a listed CA) is refused; null means none
   */
  public record Auth(List<Principal> certificatePrincipals, Path revokedKeys) {
    /** Copies the list. */
    public Auth {
      certificatePrincipals = List.copyOf(certificatePrincipals);
    }
  }

  /**
   * Prometheus metrics, {@code /healthz} and {@code /readyz} over HTTP.
   *
   * @param host address the HTTP port listens on
   * @param port the HTTP port; 0 means no HTTP port at all
   */
  public record Metrics(String host, int port) {}

  /**
   * The audit log: one JSON line per login, session, command, forward and file operation, through
   * the {@code audit} logger of logback.xml.
   *
   * @param file where the lines go: a file (appended to), {@code -} for stdout, or null for none
   */
  public record Audit(Path file) {
    /** Whether the lines go to stdout. */
    public boolean toStdout() {
      return file != null && file.toString().equals("-");
    }
  }

  /**
   * How the gateway stops on SIGTERM.
   *
   * @param grace open sessions may run this long after the gateway stopped listening; those left
   *     are then closed with a message
   */
  public record Shutdown(Duration grace) {}

  /** A principal a user certificate may name to be accepted. */
  public enum Principal {
    /** The id of the sandbox logged into. */
    SANDBOX,
    /** The name of the sandbox's owner (for an owner's own login, the only one that applies). */
    OWNER,
    /** The principal {@code *}: any login of the owner whose CA signed the certificate. */
    ANY
  }

  /**
   * The {@code kubernetes} provider: each sandbox is a pod labelled {@code sandbox-ssh/id=ID} whose
   * agent listens on the pod's IP.
   *
   * @param enabled whether this gateway serves kubernetes sandboxes; when false it never loads the
   *     Kubernetes client
   * @param kubeconfig the kubeconfig file with the API server and credentials; null means the usual
   *     lookup ({@code $KUBECONFIG}, {@code ~/.kube/config}, else the pod's service account)
   * @param namespace the one namespace of sandbox pods and their token Secrets
   * @param agentPort the TCP port every sandbox pod's agent listens on
   * @param agentCommand how {@code sandbox create --provider kubernetes} starts the agent in the
   *     pod's image; {@code --listen} and {@code --token-file} follow it
   */
  public record Kubernetes(
      boolean enabled,
      Path kubeconfig,
      String namespace,
      int agentPort,
      List<String> agentCommand) {
    /** Copies the list. */
    public Kubernetes {
      agentCommand = agentCommand == null ? null : List.copyOf(agentCommand);
    }
  }

  /** The embedded default: loopback port 2222, {@code ./data}, {@code ./keys}. */
  public static GatewayConfig defaults() {
    return new GatewayConfig(
        "127.0.0.1",
        2222,
        Path.of("data"),
        Path.of("keys"),
        null,
        null,
        Duration.ZERO,
        new HostKeys(false),
        new Agent(Duration.ofSeconds(10)),
        new Local(
            Duration.ofMinutes(10),
            Isolation.BEST_EFFORT,
            Network.PRIVATE,
            InnerUser.USER,
            new UidRange(300_000, 399_999),
            new SandboxLimits(1024, 2L << 30, 0, 8192),
            null,
            true,
            1,
            true,
            0),
        new Env(List.of("LANG", "LC_*", "TERM", "COLORTERM", "GIT_PROTOCOL"), List.of()),
        // 10 sessions as sshd; an IDE's forwarded ports open many short channels beside them.
        new Limits(1000, 1000, 64 * 1024, 64, 10, 256, 256, 64),
        new Forwarding(true, true, true, true, List.of("*:*")),
        new Keepalive(Duration.ofSeconds(15), 3, Duration.ZERO),
        new Sftp(1024, 256 * 1024, 256 * 1024),
        // A day outlasts a closed laptop overnight; a forgotten session still ends, so it does
        // not keep its sandbox's agent (which never idles out while it holds one) up for ever.
        new Sessions(Duration.ofDays(1)),
        // sshd's defaults but the grace time: 120 s is generous for a gateway on port 22.
        new PreAuth(
            Duration.ofSeconds(30),
            new MaxStartups(10, 30, 100),
            new Penalties(
                true,
                Duration.ofSeconds(5),
                Duration.ofSeconds(1),
                Duration.ofSeconds(10),
                Duration.ofSeconds(15),
                Duration.ofMinutes(10),
                List.of())),
        new Auth(List.of(Principal.SANDBOX, Principal.OWNER), null),
        new Metrics("127.0.0.1", 0),
        new Audit(null),
        new Shutdown(Duration.ofSeconds(30)),
        new Kubernetes(
            false,
            null,
            "sandbox-ssh-sandboxes",
            7000,
            List.of("java", "-jar", "/opt/sandbox-ssh/sandbox-agent.jar")));
  }

  /** Checks every field and names each bad one in one exception. */
  public GatewayConfig {
    List<String> problems = new ArrayList<>();
    check(problems, host != null && !host.isBlank(), "host: must not be empty");
    check(problems, port >= 0 && port <= 65535, "port: must be 0..65535, got " + port);
    check(problems, dataDir != null, "data-dir: must be set");
    check(problems, keysDir != null, "keys-dir: must be set");
    check(
        problems,
        databaseUrl == null
            || databaseUrl.startsWith("jdbc:sqlite:")
            || databaseUrl.startsWith("jdbc:postgresql://"),
        "database-url: must be a jdbc:sqlite: or jdbc:postgresql:// URL (or unset for gateway.db"
            + " in data-dir)");
    check(
        problems,
        databaseCacheTime != null && !databaseCacheTime.isNegative(),
        "database-cache-time: must be >= 0");
    check(problems, hostKeys != null, "host-keys: must be set");
    if (check(problems, agent != null, "agent: must be set")) {
      check(problems, positive(agent.connectTimeout()), "agent.connect-timeout: must be > 0");
    }
    if (check(problems, local != null, "local: must be set")) {
      check(problems, positive(local.idleTimeout()), "local.idle-timeout: must be > 0");
      check(
          problems,
          local.isolation() != null,
          "local.isolation: must be best-effort, required or off");
      check(problems, local.network() != null, "local.network: must be private or none");
      check(problems, local.user() != null, "local.user: must be user or root");
      UidRange uids = local.uidRange();
      // Threat: a range reaching down into system uids would hand a sandbox the files of a
      // daemon's account (or root's); above 2^32-2 the kernel's special (uid_t)-1 begins.
      check(
          problems,
          uids != null
              && uids.first() >= 1000
              && uids.last() >= uids.first()
              && uids.last() <= 4_294_967_294L,
          "local.uid-range: must be FIRST-LAST with 1000 <= FIRST <= LAST <= 4294967294");
      check(
          problems,
          local.spareAgents() >= 0 && local.spareAgents() <= MAX_SPARE_AGENTS,
          "local.spare-agents: must be 0.." + MAX_SPARE_AGENTS + ", got " + local.spareAgents());
      check(
          problems,
          local.agentStarts() >= 0 && local.agentStarts() <= MAX_AGENT_STARTS,
          "local.agent-starts: must be 0.." + MAX_AGENT_STARTS + ", got " + local.agentStarts());
      SandboxLimits r = local.limits();
      if (check(problems, r != null, "local.limits: must be set")) {
        check(
            problems,
            r.maxProcesses() == 0 || r.maxProcesses() >= 32,
            "local.limits.max-processes: must be 0 (unlimited) or >= 32 (the agent's threads count)");
        check(
            problems,
            r.memory() == 0 || r.memory() >= 64L << 20,
            "local.limits.memory: must be 0 (unlimited) or at least 64m (the agent runs in it)");
        check(
            problems,
            r.cpus() == 0 || (r.cpus() >= 0.01 && r.cpus() <= 4096),
            "local.limits.cpus: must be 0 (unlimited) or between 0.01 and 4096");
        check(
            problems,
            r.maxOpenFiles() == 0 || r.maxOpenFiles() >= 64,
            "local.limits.max-open-files: must be 0 (unlimited) or >= 64");
      }
    }
    if (check(problems, env != null, "env: must be set")) {
      for (String p : env.patterns()) {
        check(
            problems,
            p.matches("[A-Za-z_][A-Za-z0-9_]*\\*?"),
            "env: bad name pattern '" + p + "' (a name, or a prefix ending in *)");
      }
    }
    if (check(problems, limits != null, "limits: must be set")) {
      check(problems, limits.maxPtyCols() >= 1, "limits.max-pty-cols: must be >= 1");
      check(problems, limits.maxPtyRows() >= 1, "limits.max-pty-rows: must be >= 1");
      check(problems, limits.maxEnvValueBytes() >= 1, "limits.max-env-value-bytes: must be >= 1");
      check(problems, limits.maxEnvVars() >= 0, "limits.max-env-vars: must be >= 0");
      check(
          problems,
          limits.maxSessionsPerConnection() >= 1,
          "limits.max-sessions-per-connection: must be >= 1");
      check(
          problems,
          limits.maxChannelsPerConnection() >= limits.maxSessionsPerConnection(),
          "limits.max-channels-per-connection: must be >= max-sessions-per-connection");
      check(
          problems,
          limits.maxConnectionsPerOwner() >= 0,
          "limits.max-connections-per-owner: must be >= 0 (0 is unlimited)");
      check(
          problems,
          limits.maxConnectionsPerSandbox() >= 0,
          "limits.max-connections-per-sandbox: must be >= 0 (0 is unlimited)");
    }
    if (check(problems, forwarding != null, "forwarding: must be set")) {
      for (String target : forwarding.permitOpen()) {
        check(
            problems,
            target.matches("(\\*|\\[[0-9A-Fa-f:.]+\\]|[^:\\s]+):(\\*|[0-9]{1,5})"),
            "forwarding.permit-open: bad target '" + target + "' (host:port, * for any)");
      }
    }
    if (check(problems, keepalive != null, "keepalive: must be set")) {
      check(problems, positive(keepalive.interval()), "keepalive.interval: must be > 0");
      check(problems, keepalive.countMax() >= 1, "keepalive.count-max: must be >= 1");
      check(
          problems,
          keepalive.idleTimeout() != null && !keepalive.idleTimeout().isNegative(),
          "keepalive.idle-timeout: must be >= 0");
    }
    if (check(problems, sftp != null, "sftp: must be set")) {
      check(problems, sftp.maxOpenHandles() >= 1, "sftp.max-open-handles: must be >= 1");
      check(problems, sftp.maxReadBytes() >= 1024, "sftp.max-read-bytes: must be >= 1024");
      check(problems, sftp.maxWriteBytes() >= 1024, "sftp.max-write-bytes: must be >= 1024");
    }
    if (check(problems, sessions != null, "sessions: must be set")) {
      check(
          problems,
          sessions.detachedTimeout() != null && !sessions.detachedTimeout().isNegative(),
          "sessions.detached-timeout: must be >= 0");
    }
    if (check(problems, preAuth != null, "pre-auth: must be set")) {
      check(problems, positive(preAuth.graceTime()), "pre-auth.grace-time: must be > 0");
      MaxStartups m = preAuth.maxStartups();
      check(
          problems,
          m != null && m.start() >= 1 && m.rate() >= 1 && m.rate() <= 100 && m.full() >= m.start(),
          "pre-auth.max-startups: must be START:RATE:FULL with 1 <= START <= FULL, 1 <= RATE <= 100");
      Penalties p = preAuth.penalties();
      if (check(problems, p != null, "pre-auth.penalties: must be set")) {
        for (var e :
            List.of(
                java.util.Map.entry("auth-failure", nullToNegative(p.authFailure())),
                java.util.Map.entry("no-auth", nullToNegative(p.noAuth())),
                java.util.Map.entry("grace-exceeded", nullToNegative(p.graceExceeded())))) {
          check(
              problems,
              !e.getValue().isNegative(),
              "pre-auth.penalties." + e.getKey() + ": must be >= 0");
        }
        check(problems, positive(p.min()), "pre-auth.penalties.min: must be > 0");
        check(
            problems,
            positive(p.max()) && p.min() != null && p.max().compareTo(p.min()) >= 0,
            "pre-auth.penalties.max: must be >= min");
        for (String range : p.exempt()) {
          check(
              problems,
              Cidr.isValid(range),
              "pre-auth.penalties.exempt: bad address or range '" + range + "'");
        }
      }
    }
    if (check(problems, auth != null, "auth: must be set")) {
      check(
          problems,
          !auth.certificatePrincipals().isEmpty(),
          "auth.certificate-principals: must list sandbox, owner and/or any");
    }
    if (check(problems, metrics != null, "metrics: must be set")) {
      check(
          problems,
          metrics.host() != null && !metrics.host().isBlank(),
          "metrics.host: must not be empty");
      check(
          problems,
          metrics.port() >= 0 && metrics.port() <= 65535,
          "metrics.port: must be 0..65535 (0 is off), got " + metrics.port());
    }
    check(problems, audit != null, "audit: must be set");
    if (check(problems, shutdown != null, "shutdown: must be set")) {
      check(
          problems,
          shutdown.grace() != null && !shutdown.grace().isNegative(),
          "shutdown.grace: must be >= 0");
    }
    if (check(problems, kubernetes != null, "kubernetes: must be set")) {
      // A namespace is a DNS label; anything else would only fail at the first login.
      check(
          problems,
          kubernetes.namespace() != null
              && kubernetes.namespace().matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"),
          "kubernetes.namespace: must be a namespace name (a DNS label)");
      check(
          problems,
          kubernetes.agentPort() >= 1 && kubernetes.agentPort() <= 65535,
          "kubernetes.agent-port: must be 1..65535, got " + kubernetes.agentPort());
      check(
          problems,
          kubernetes.agentCommand() != null && !kubernetes.agentCommand().isEmpty(),
          "kubernetes.agent-command: must name the agent's program");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }

  /**
   * This config with command-line flags applied; a null argument keeps the current value. The
   * result is validated again, so a bad flag is reported like a bad config field.
   */
  public GatewayConfig withOverrides(String host, Integer port, Path dataDir, Path keysDir) {
    Copy c = new Copy(this);
    c.host = host != null ? host : this.host;
    c.port = port != null ? port : this.port;
    c.dataDir = dataDir != null ? dataDir : this.dataDir;
    c.keysDir = keysDir != null ? keysDir : this.keysDir;
    return c.build();
  }

  /** This config with another database: URL, password file (or null) and cache time. */
  public GatewayConfig withDatabase(String url, Path passwordFile, Duration cacheTime) {
    Copy c = new Copy(this);
    c.databaseUrl = url;
    c.databasePasswordFile = passwordFile;
    c.databaseCacheTime = cacheTime;
    return c.build();
  }

  /** This config with another {@code local} section. */
  public GatewayConfig withLocal(Local local) {
    Copy c = new Copy(this);
    c.local = local;
    return c.build();
  }

  /** This config with another {@code sessions} section. */
  public GatewayConfig withSessions(Sessions sessions) {
    Copy c = new Copy(this);
    c.sessions = sessions;
    return c.build();
  }

  /** This config with another {@code pre-auth} section. */
  public GatewayConfig withPreAuth(PreAuth preAuth) {
    Copy c = new Copy(this);
    c.preAuth = preAuth;
    return c.build();
  }

  /** This config with another {@code limits} section. */
  public GatewayConfig withLimits(Limits limits) {
    Copy c = new Copy(this);
    c.limits = limits;
    return c.build();
  }

  /** This config with another {@code auth} section. */
  public GatewayConfig withAuth(Auth auth) {
    Copy c = new Copy(this);
    c.auth = auth;
    return c.build();
  }

  /** This config with another {@code metrics} section. */
  public GatewayConfig withMetrics(Metrics metrics) {
    Copy c = new Copy(this);
    c.metrics = metrics;
    return c.build();
  }

  /** This config with another {@code audit} section. */
  public GatewayConfig withAudit(Audit audit) {
    Copy c = new Copy(this);
    c.audit = audit;
    return c.build();
  }

  /** This config with another {@code shutdown} section. */
  public GatewayConfig withShutdown(Shutdown shutdown) {
    Copy c = new Copy(this);
    c.shutdown = shutdown;
    return c.build();
  }

  /** This config with another {@code kubernetes} section. */
  public GatewayConfig withKubernetes(Kubernetes kubernetes) {
    Copy c = new Copy(this);
    c.kubernetes = kubernetes;
    return c.build();
  }

  /** The layout of {@link #dataDir}: database, local sandboxes' homes, agent sockets. */
  public DataDir dataLayout() {
    return new DataDir(dataDir);
  }

  /** The JDBC URL to open: {@link #databaseUrl} or SQLite in the data dir. */
  public String effectiveDatabaseUrl() {
    return databaseUrl != null
        ? databaseUrl
        : "jdbc:sqlite:" + dataDir.toAbsolutePath().resolve("gateway.db");
  }

  /** A changeable copy for the withers: the one place besides the record that lists every field. */
  private static final class Copy {
    String host;
    int port;
    Path dataDir;
    Path keysDir;
    String databaseUrl;
    Path databasePasswordFile;
    Duration databaseCacheTime;
    HostKeys hostKeys;
    Agent agent;
    Local local;
    Env env;
    Limits limits;
    Forwarding forwarding;
    Keepalive keepalive;
    Sftp sftp;
    Sessions sessions;
    PreAuth preAuth;
    Auth auth;
    Metrics metrics;
    Audit audit;
    Shutdown shutdown;
    Kubernetes kubernetes;

    Copy(GatewayConfig c) {
      host = c.host;
      port = c.port;
      dataDir = c.dataDir;
      keysDir = c.keysDir;
      databaseUrl = c.databaseUrl;
      databasePasswordFile = c.databasePasswordFile;
      databaseCacheTime = c.databaseCacheTime;
      hostKeys = c.hostKeys;
      agent = c.agent;
      local = c.local;
      env = c.env;
      limits = c.limits;
      forwarding = c.forwarding;
      keepalive = c.keepalive;
      sftp = c.sftp;
      sessions = c.sessions;
      preAuth = c.preAuth;
      auth = c.auth;
      metrics = c.metrics;
      audit = c.audit;
      shutdown = c.shutdown;
      kubernetes = c.kubernetes;
    }

    GatewayConfig build() {
      return new GatewayConfig(
          host,
          port,
          dataDir,
          keysDir,
          databaseUrl,
          databasePasswordFile,
          databaseCacheTime,
          hostKeys,
          agent,
          local,
          env,
          limits,
          forwarding,
          keepalive,
          sftp,
          sessions,
          preAuth,
          auth,
          metrics,
          audit,
          shutdown,
          kubernetes);
    }
  }

  private static Duration nullToNegative(Duration d) {
    return d != null ? d : Duration.ofSeconds(-1);
  }

  private static boolean positive(Duration d) {
    return d != null && !d.isNegative() && !d.isZero();
  }

  private static boolean check(List<String> problems, boolean ok, String problem) {
    if (!ok) {
      problems.add(problem);
    }
    return ok;
  }
}
