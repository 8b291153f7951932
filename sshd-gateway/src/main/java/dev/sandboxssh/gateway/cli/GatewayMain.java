package dev.sandboxssh.gateway.cli;

import dev.sandboxssh.gateway.app.GatewayApp;
import dev.sandboxssh.gateway.config.ConfigException;
import dev.sandboxssh.gateway.config.ConfigLoader;
import dev.sandboxssh.gateway.config.DataDir;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.routing.kubernetes.PodException;
import dev.sandboxssh.gateway.routing.kubernetes.SandboxPods;
import dev.sandboxssh.gateway.store.Names;
import dev.sandboxssh.gateway.store.Owner;
import dev.sandboxssh.gateway.store.OwnerKey;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.OwnershipStores;
import dev.sandboxssh.gateway.store.PublicKeys;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.gateway.store.StoreException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The gateway's command line: {@code serve} (the default) and the admin commands on the ownership
 * table. Bad input ends with one {@code error: } line on stderr and exit status 2; an unexpected
 * failure (I/O, a locked database) with exit status 1.
 */
@Command(
    name = "sshd-gateway",
    mixinStandardHelpOptions = true,
    version = "sshd-gateway 0.1.0",
    description = "SSH gateway for sandboxes. Without a command it runs `serve`.",
    subcommands = {
      GatewayMain.Serve.class,
      GatewayMain.OwnerCommand.class,
      GatewayMain.SandboxCommand.class
    })
public final class GatewayMain {

  /** Exit status for bad input: unknown names, invalid values, unreadable files. */
  public static final int EXIT_USAGE = 2;

  /** Exit status for failures that are not the user's input (I/O, database). */
  public static final int EXIT_FAILURE = 1;

  private static final Set<String> TOP_LEVEL = Set.of("-h", "--help", "-V", "--version");

  /** What {@code serve} runs; tests replace it. */
  @FunctionalInterface
  public interface Server {
    /** Runs a gateway with {@code config} until it stops; returns the exit status. */
    int run(GatewayConfig config) throws Exception;
  }

  private final Server server;

  private GatewayMain(Server server) {
    this.server = server;
  }

  /** Runs the command line and exits the JVM with its status. */
  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(execute(args, out, err, GatewayApp::run));
  }

  /** Runs the command line with the given streams and server; returns the exit status. */
  public static int execute(String[] args, PrintWriter out, PrintWriter err, Server server) {
    CommandLine cmd = new CommandLine(new GatewayMain(server));
    cmd.setOut(out);
    cmd.setErr(err);
    cmd.setParameterExceptionHandler(
        (ex, a) -> {
          String help = ex.getCommandLine().getCommandSpec().qualifiedName() + " --help";
          err.println("error: " + oneLine(ex.getMessage()) + " (see " + help + ")");
          err.flush();
          return EXIT_USAGE;
        });
    cmd.setExecutionExceptionHandler((ex, c, parsed) -> fail(ex, err));
    int status = cmd.execute(withDefaultCommand(args));
    out.flush();
    err.flush();
    return status;
  }

  /** {@code serve} is the default: no arguments, or only options, mean {@code serve ...}. */
  private static String[] withDefaultCommand(String[] args) {
    if (args.length > 0 && (!args[0].startsWith("-") || TOP_LEVEL.contains(args[0]))) {
      return args;
    }
    String[] withServe = new String[args.length + 1];
    withServe[0] = "serve";
    System.arraycopy(args, 0, withServe, 1, args.length);
    return withServe;
  }

  private static int fail(Exception ex, PrintWriter err) {
    int status;
    String message;
    if (ex instanceof StoreException se) {
      status = se.reason() == StoreException.Reason.IO ? EXIT_FAILURE : EXIT_USAGE;
      message = se.getMessage();
    } else if (ex instanceof ConfigException || ex instanceof UserError) {
      status = EXIT_USAGE;
      message = ex.getMessage();
    } else if (ex instanceof PodException pe) {
      status = pe.kind() == PodException.Kind.CONFLICT ? EXIT_USAGE : EXIT_FAILURE;
      message = pe.getMessage();
    } else if (ex instanceof IOException || ex instanceof UncheckedIOException) {
      status = EXIT_FAILURE;
      message = describe(ex instanceof UncheckedIOException u ? u.getCause() : ex);
    } else {
      status = EXIT_FAILURE;
      message = "unexpected " + ex;
      LoggerFactory.getLogger(GatewayMain.class).error("unexpected failure", ex);
    }
    err.println("error: " + oneLine(message));
    err.flush();
    return status;
  }

  /** Bad input found by the command line itself; exit status 2. */
  static final class UserError extends RuntimeException {
    UserError(String message) {
      super(message);
    }
  }

  // ---------------------------------------------------------------- options shared by commands

  /** Where the ownership table is: {@code --config} and {@code --data-dir}. */
  static final class StoreOptions {
    @Option(
        names = "--config",
        paramLabel = "FILE",
        description = "Gateway config file (YAML); its data-dir and database-url are used.")
    Path config;

    @Option(
        names = "--data-dir",
        paramLabel = "DIR",
        description = "Data directory (default: data-dir of the config, else ./data).")
    Path dataDir;

    GatewayConfig config() {
      GatewayConfig base = config != null ? ConfigLoader.load(config) : GatewayConfig.defaults();
      return base.withOverrides(null, null, dataDir, null);
    }

    /** The pods of kubernetes sandboxes, for a config that enables them. */
    SandboxPods pods() throws PodException {
      GatewayConfig c = config();
      // Deny by default: without the operator's say-so, no command reaches for a cluster.
      if (!c.kubernetes().enabled()) {
        throw new UserError(
            "kubernetes sandboxes need a --config file with kubernetes.enabled: true");
      }
      return SandboxPods.connect(c.kubernetes(), c.agent().connectTimeout());
    }

    /** Opens the table, creating the data dir when missing. */
    Opened open() throws IOException {
      Runnable restoreLogging = quietLogging();
      try {
        GatewayConfig c = config();
        DataDir dir = c.dataLayout().create();
        return new Opened(dir, OwnershipStores.open(c), restoreLogging);
      } catch (IOException | RuntimeException e) {
        restoreLogging.run();
        throw e;
      }
    }
  }

  /** An open ownership table and the data dir it belongs to. */
  record Opened(DataDir dir, OwnershipStore store, Runnable restoreLogging)
      implements AutoCloseable {
    @Override
    public void close() {
      try {
        store.close();
      } finally {
        restoreLogging.run();
      }
    }
  }

  /**
   * Admin commands print their result on stdout and errors as one line on stderr; the store's INFO
   * lines (a schema migration) would add to stderr, so only warnings are logged while the table is
   * open. The returned action puts the level back: a command run inside a gateway's JVM (the tests
   * do) must not silence the gateway's own INFO lines for good.
   */
  private static Runnable quietLogging() {
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx) {
      ch.qos.logback.classic.Logger logger = ctx.getLogger("dev.sandboxssh");
      ch.qos.logback.classic.Level before = logger.getLevel();
      logger.setLevel(ch.qos.logback.classic.Level.WARN);
      return () -> logger.setLevel(before);
    }
    return () -> {};
  }

  // ---------------------------------------------------------------- serve

  /** Runs the gateway. */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = "Run the gateway (the default command).")
  static final class Serve implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Gateway config file (YAML).")
    Path config;

    @Option(names = "--host", paramLabel = "H", description = "Address to listen on.")
    String host;

    @Option(names = "--port", paramLabel = "N", description = "Port to listen on (0: any free).")
    Integer port;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Data directory.")
    Path dataDir;

    @Option(names = "--keys-dir", paramLabel = "DIR", description = "Host key directory.")
    Path keysDir;

    @Override
    public Integer call() throws Exception {
      GatewayConfig base = config != null ? ConfigLoader.load(config) : GatewayConfig.defaults();
      GatewayConfig effective = base.withOverrides(host, port, dataDir, keysDir);
      GatewayMain main = (GatewayMain) spec.root().userObject();
      return main.server.run(effective);
    }
  }

  // ---------------------------------------------------------------- owner

  /** The {@code owner} commands. */
  @Command(
      name = "owner",
      mixinStandardHelpOptions = true,
      description = "Manage owners and their public keys.",
      subcommands = {OwnerAdd.class, OwnerList.class, OwnerRemove.class})
  static final class OwnerCommand implements Runnable {

    @Override
    public void run() {
      throw new UserError("give a command: add, list or remove (see sshd-gateway owner --help)");
    }
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description =
          "Add an owner with the public keys in --key FILE and/or the user certificate"
              + " authorities (CA public keys) in --ca FILE.")
  static final class OwnerAdd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin StoreOptions storeOptions;

    @Parameters(paramLabel = "NAME", description = "Owner name: 1-32 of a-z 0-9 _ . -")
    String name;

    @Option(
        names = "--key",
        paramLabel = "FILE",
        description = "OpenSSH public key file (authorized_keys format).")
    Path keyFile;

    @Option(
        names = "--ca",
        paramLabel = "FILE",
        description =
            "Public key(s) of user certificate authorities: certificates they sign log in"
                + " (ssh-keygen -s CA -I ID -n PRINCIPALS key.pub).")
    Path caFile;

    @Override
    public Integer call() throws IOException {
      if (keyFile == null && caFile == null) {
        throw new UserError("give --key FILE, --ca FILE or both");
      }
      // Read every key before touching the table: a bad line leaves nothing written.
      List<PublicKeys.ParsedKey> keys = keyFile != null ? PublicKeys.readFile(keyFile) : List.of();
      List<PublicKeys.ParsedKey> cas = caFile != null ? PublicKeys.readFile(caFile) : List.of();
      try (Opened o = storeOptions.open()) {
        Owner owner =
            o.store()
                .addOwner(
                    name,
                    keys.stream().map(PublicKeys.ParsedKey::ownerKey).toList(),
                    cas.stream().map(PublicKeys.ParsedKey::ownerKey).toList());
        PrintWriter out = spec.commandLine().getOut();
        if (keys.stream().anyMatch(PublicKeys.ParsedKey::hadOptions)) {
          spec.commandLine()
              .getErr()
              .println("warning: " + keyFile + ": key options (from=, command=...) are ignored");
        }
        out.println(
            "added owner "
                + owner.name()
                + " with "
                + count(owner.keys().size(), "key", "keys")
                + (owner.cas().isEmpty()
                    ? ""
                    : " and "
                        + count(
                            owner.cas().size(),
                            "certificate authority",
                            "certificate authorities")));
        for (OwnerKey k : owner.keys()) {
          out.println("  " + k.fingerprint() + " " + keyType(k.authorizedKey()));
        }
        for (OwnerKey k : owner.cas()) {
          out.println("  " + k.fingerprint() + " " + keyType(k.authorizedKey()) + " (CA)");
        }
      }
      return 0;
    }

    private static String count(int n, String one, String many) {
      return n + " " + (n == 1 ? one : many);
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List owners.")
  static final class OwnerList implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin StoreOptions storeOptions;

    @Override
    public Integer call() throws IOException {
      try (Opened o = storeOptions.open()) {
        Table t = new Table("NAME", "KEYS", "CAS", "CREATED");
        for (Owner owner : o.store().listOwners()) {
          t.row(
              owner.name(),
              String.valueOf(owner.keys().size()),
              String.valueOf(owner.cas().size()),
              time(owner.created()));
        }
        t.print(spec.commandLine().getOut());
      }
      return 0;
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      description = "Remove an owner, its keys and its sandboxes (local ones with their files).")
  static final class OwnerRemove implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin StoreOptions storeOptions;

    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    public Integer call() throws IOException, PodException {
      try (Opened o = storeOptions.open()) {
        List<SandboxRecord> owned =
            o.store().listSandboxes().stream().filter(s -> s.owner().equals(name)).toList();
        List<SandboxRecord> pods =
            owned.stream().filter(s -> s.provider() == SandboxRecord.Provider.KUBERNETES).toList();
        if (!pods.isEmpty()) {
          // Pods before rows: a failure leaves the rows, and the command can be run again.
          try (SandboxPods k8s = storeOptions.pods()) {
            for (SandboxRecord s : pods) {
              k8s.delete(s.id());
            }
          }
        }
        o.store().removeOwner(name);
        // Rows first, then files: a failure below leaves files without a row, never a row whose
        // files are half gone.
        for (SandboxRecord s : owned) {
          if (s.provider() == SandboxRecord.Provider.LOCAL) {
            o.dir().deleteSandboxDir(s.id());
          }
        }
        spec.commandLine()
            .getOut()
            .println(
                "removed owner "
                    + name
                    + (owned.isEmpty()
                        ? ""
                        : " and "
                            + owned.size()
                            + (owned.size() == 1 ? " sandbox" : " sandboxes")));
      }
      return 0;
    }
  }

  // ---------------------------------------------------------------- sandbox

  /** The {@code sandbox} commands. */
  @Command(
      name = "sandbox",
      mixinStandardHelpOptions = true,
      description = "Manage sandboxes.",
      subcommands = {SandboxCreate.class, SandboxList.class, SandboxDelete.class})
  static final class SandboxCommand implements Runnable {

    @Override
    public void run() {
      throw new UserError(
          "give a command: create, list or delete (see sshd-gateway sandbox --help)");
    }
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = {
        "Create a sandbox and print its id alone.",
        "Without --endpoint it is local: a directory under the data dir whose agent the gateway"
            + " starts. With --endpoint and --token-file it is remote: an agent already running"
            + " there. With --provider kubernetes --image IMAGE it is a pod running the agent in"
            + " IMAGE, with its token in a Secret (the config's kubernetes section). With"
            + " --e2b-id ID (or --envd-url URL) and --token-file it is an E2B sandbox, reached"
            + " through its envd with that access token."
      })
  static final class SandboxCreate implements Callable<Integer> {
    /** A token file holds one token; anything this large is something else. */
    private static final long MAX_TOKEN_FILE = 64 * 1024;

    @Spec CommandSpec spec;
    @Mixin StoreOptions storeOptions;

    @Option(names = "--owner", required = true, paramLabel = "NAME", description = "Its owner.")
    String owner;

    @Option(
        names = "--id",
        paramLabel = "ID",
        description = "Its id, a DNS label (default: sbx- and 8 random characters).")
    String id;

    @Option(
        names = "--endpoint",
        paramLabel = "HOST:PORT|unix:PATH",
        description = "The agent of a remote sandbox.")
    String endpoint;

    @Option(
        names = "--token-file",
        paramLabel = "FILE",
        description = "File holding that agent's token.")
    Path tokenFile;

    @Option(
        names = "--provider",
        paramLabel = "local|remote|kubernetes|e2b",
        description =
            "Where its agent runs (default: remote with --endpoint, e2b with --e2b-id or"
                + " --envd-url, else local).")
    String providerName;

    @Option(
        names = "--e2b-id",
        paramLabel = "ID",
        description =
            "An E2B sandbox's id; its envd is https://49983-ID.DOMAIN. Also the default --id.")
    String e2bId;

    @Option(
        names = "--domain",
        paramLabel = "DOMAIN",
        description = "With --e2b-id: E2B's sandbox domain (default: ${DEFAULT-VALUE}).",
        defaultValue = "e2b.app")
    String domain;

    @Option(
        names = "--envd-url",
        paramLabel = "http(s)://HOST:PORT",
        description = "An envd reached directly (self-hosted E2B, or an agent's --envd-listen).")
    String envdUrl;

    @Option(
        names = "--image",
        paramLabel = "IMAGE",
        description = "With --provider kubernetes: the pod's image, which holds the agent.")
    String image;

    @Override
    public Integer call() throws IOException, PodException {
      SandboxRecord.Provider provider = provider();
      if (provider == SandboxRecord.Provider.E2B) {
        return createE2b();
      }
      if (e2bId != null || envdUrl != null) {
        throw new UserError("--e2b-id and --envd-url go with --provider e2b");
      }
      if ((endpoint == null) != (tokenFile == null)) {
        throw new UserError("--endpoint and --token-file go together");
      }
      if (provider == SandboxRecord.Provider.KUBERNETES) {
        return createPod();
      }
      if (image != null) {
        throw new UserError("--image goes with --provider kubernetes");
      }
      if (provider == SandboxRecord.Provider.REMOTE && endpoint == null) {
        throw new UserError("--provider remote needs --endpoint and --token-file");
      }
      if (provider == SandboxRecord.Provider.LOCAL && endpoint != null) {
        throw new UserError("--endpoint and --token-file make a remote sandbox, not a local one");
      }
      String token = tokenFile != null ? readToken(tokenFile) : null;
      try (Opened o = storeOptions.open()) {
        // The duplicate id is the better message when both apply: its directory exists too.
        if (id != null && o.store().findSandbox(id).isPresent()) {
          throw new StoreException(
              StoreException.Reason.CONFLICT, "sandbox " + id + " already exists");
        }
        if (provider == SandboxRecord.Provider.LOCAL
            && id != null
            && DataDir.isSandboxId(id)
            && Files.exists(o.dir().sandboxDir(id), LinkOption.NOFOLLOW_LINKS)) {
          throw new UserError(
              o.dir().sandboxDir(id)
                  + " exists (left from a deleted sandbox?); remove it or pick another id");
        }
        SandboxRecord created =
            o.store()
                .createSandbox(
                    new SandboxRecord(
                        id, owner, provider, endpoint, token, SandboxRecord.State.CREATED, null));
        if (provider == SandboxRecord.Provider.LOCAL) {
          try {
            o.dir().createSandboxDir(created.id());
          } catch (IOException e) {
            // No row without its directory.
            o.store().deleteSandbox(created.id());
            if (e instanceof FileAlreadyExistsException) {
              throw new UserError(o.dir().sandboxDir(created.id()) + " exists; pick another id");
            }
            throw e;
          }
        }
        spec.commandLine().getOut().println(created.id());
      }
      return 0;
    }

    private SandboxRecord.Provider provider() {
      if (providerName == null) {
        return endpoint != null
            ? SandboxRecord.Provider.REMOTE
            : e2bId != null || envdUrl != null
                ? SandboxRecord.Provider.E2B
                : SandboxRecord.Provider.LOCAL;
      }
      for (SandboxRecord.Provider p : SandboxRecord.Provider.values()) {
        if (p.name().toLowerCase(Locale.ROOT).equals(providerName)) {
          return p;
        }
      }
      throw new UserError(
          "--provider: expected local, remote, kubernetes or e2b, got '" + providerName + "'");
    }

    /** A row holding the envd's URL and access token; nothing is started. */
    private int createE2b() throws IOException {
      if ((e2bId == null) == (envdUrl == null)) {
        throw new UserError("--provider e2b needs one of --e2b-id ID and --envd-url URL");
      }
      if (endpoint != null || image != null) {
        throw new UserError(
            "an e2b sandbox has no --endpoint or --image: its envd is the endpoint");
      }
      if (tokenFile == null) {
        throw new UserError("--provider e2b needs --token-file FILE (the envd access token)");
      }
      String url;
      if (e2bId != null) {
        // E2B's ids and domains are DNS labels and names; anything else cannot make a host name.
        if (!e2bId.matches("[a-z0-9]{1,63}")) {
          throw new UserError("--e2b-id: not an E2B sandbox id: '" + e2bId + "'");
        }
        if (!domain.matches("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")) {
          throw new UserError("--domain: not a domain name: '" + domain + "'");
        }
        url = "https://49983-" + e2bId + "." + domain;
      } else {
        url = envdUrl;
      }
      String sandboxId = id != null ? id : e2bId != null && Names.isSandboxId(e2bId) ? e2bId : null;
      String token = readToken(tokenFile);
      try (Opened o = storeOptions.open()) {
        SandboxRecord created =
            o.store()
                .createSandbox(
                    new SandboxRecord(
                        sandboxId,
                        owner,
                        SandboxRecord.Provider.E2B,
                        url,
                        token,
                        SandboxRecord.State.CREATED,
                        null));
        spec.commandLine().getOut().println(created.id());
      }
      return 0;
    }

    /** A row, then the pod and its Secret; a failure there removes the row again. */
    private int createPod() throws IOException, PodException {
      if (image == null) {
        throw new UserError("--provider kubernetes needs --image IMAGE (an image with the agent)");
      }
      if (endpoint != null) {
        throw new UserError("a kubernetes sandbox has no --endpoint: its pod's IP is the endpoint");
      }
      // Kubernetes checks the reference itself; blanks or control characters are not one.
      if (image.isEmpty() || image.length() > 1024 || image.chars().anyMatch(c -> c <= ' ')) {
        throw new UserError("--image: not an image reference: '" + image + "'");
      }
      try (SandboxPods pods = storeOptions.pods();
          Opened o = storeOptions.open()) {
        if (id != null && o.store().findSandbox(id).isPresent()) {
          throw new StoreException(
              StoreException.Reason.CONFLICT, "sandbox " + id + " already exists");
        }
        SandboxRecord created =
            o.store()
                .createSandbox(
                    new SandboxRecord(
                        id,
                        owner,
                        SandboxRecord.Provider.KUBERNETES,
                        null,
                        null,
                        SandboxRecord.State.CREATED,
                        null));
        try {
          pods.create(created.id(), owner, image);
        } catch (PodException | RuntimeException e) {
          // No row without its pod.
          o.store().deleteSandbox(created.id());
          throw e;
        }
        spec.commandLine().getOut().println(created.id());
      }
      return 0;
    }

    private static String readToken(Path file) {
      try {
        if (Files.size(file) > MAX_TOKEN_FILE) {
          throw new UserError(file + " is too large for a token file");
        }
        // The token is the file's content without surrounding whitespace (a trailing newline).
        String token = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (token.isEmpty()) {
          throw new UserError(file + " holds no token");
        }
        return token;
      } catch (IOException e) {
        throw new UserError("cannot read " + file + ": " + shortReason(e));
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List sandboxes.")
  static final class SandboxList implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin StoreOptions storeOptions;

    @Override
    public Integer call() throws IOException {
      try (Opened o = storeOptions.open()) {
        Table t = new Table("ID", "OWNER", "PROVIDER", "STATE", "CREATED");
        for (SandboxRecord s : o.store().listSandboxes()) {
          t.row(
              s.id(),
              s.owner(),
              s.provider().name().toLowerCase(Locale.ROOT),
              s.state().name().toLowerCase(Locale.ROOT),
              time(s.created()));
        }
        t.print(spec.commandLine().getOut());
      }
      return 0;
    }
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description =
          "Delete a sandbox; a local one loses its directory under the data dir, a kubernetes one"
              + " its pod and Secret.")
  static final class SandboxDelete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin StoreOptions storeOptions;

    @Parameters(paramLabel = "ID")
    String id;

    @Override
    public Integer call() throws IOException, PodException {
      try (Opened o = storeOptions.open()) {
        SandboxRecord s =
            o.store()
                .findSandbox(id)
                .orElseThrow(
                    () -> new StoreException(StoreException.Reason.NOT_FOUND, "no sandbox " + id));
        if (s.provider() == SandboxRecord.Provider.KUBERNETES) {
          // The pod before the row: a failure leaves the row, and the command can be run again.
          try (SandboxPods pods = storeOptions.pods()) {
            pods.delete(id);
          }
        }
        o.store().deleteSandbox(id);
        if (s.provider() == SandboxRecord.Provider.LOCAL) {
          o.dir().deleteSandboxDir(id);
        }
        spec.commandLine().getOut().println("deleted sandbox " + id);
      }
      return 0;
    }
  }

  // ---------------------------------------------------------------- output

  /** A plain table: columns padded to their widest cell, two spaces apart. */
  static final class Table {
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
      rows.add(header);
    }

    void row(String... cells) {
      rows.add(cells);
    }

    void print(PrintWriter out) {
      int[] widths = new int[rows.get(0).length];
      for (String[] r : rows) {
        for (int i = 0; i < r.length; i++) {
          widths[i] = Math.max(widths[i], r[i].length());
        }
      }
      for (String[] r : rows) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < r.length; i++) {
          line.append(r[i]);
          if (i < r.length - 1) {
            line.append(" ".repeat(widths[i] - r[i].length() + 2));
          }
        }
        out.println(line);
      }
      out.flush();
    }
  }

  private static String time(Instant t) {
    return t.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static String keyType(String authorizedKey) {
    int space = authorizedKey.indexOf(' ');
    return space < 0 ? authorizedKey : authorizedKey.substring(0, space);
  }

  private static String oneLine(String message) {
    return message == null ? "" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
  }

  private static String shortReason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    return describe(e);
  }

  private static String describe(Throwable e) {
    if (e instanceof NoSuchFileException) {
      return "no such file: " + e.getMessage();
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied: " + e.getMessage();
    }
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
