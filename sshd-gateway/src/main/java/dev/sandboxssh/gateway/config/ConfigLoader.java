package dev.sandboxssh.gateway.config;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.AbstractConstruct;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads a gateway config file (YAML, kebab-case keys as in {@code config/gateway.yaml}) over {@link
 * GatewayConfig#defaults()}. A key left out keeps its default; an unknown key, a value of the wrong
 * type and a value {@link GatewayConfig} rejects are all errors, collected and reported together in
 * one {@link ConfigException}.
 */
public final class ConfigLoader {

  /** A config file is a few KiB; anything near this is not one. */
  private static final int MAX_CHARS = 1 << 20;

  private static final Pattern SIZE = Pattern.compile("([0-9]{1,12})([kmg])?");

  private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h|d)?");

  private ConfigLoader() {}

  /**
   * Reads {@code file}; an unreadable file is a {@link ConfigException} naming it.
   *
   * @throws ConfigException naming the file and every bad field in it
   */
  public static GatewayConfig load(Path file) {
    String text;
    try {
      if (Files.size(file) > MAX_CHARS) {
        throw new ConfigException(file.toString(), List.of("larger than 1 MiB"));
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(file.toString(), List.of("cannot read: " + describe(e)));
    }
    return parse(text, file.toString());
  }

  /**
   * Reads config text; {@code source} names it in error messages.
   *
   * @throws ConfigException naming every bad field
   */
  public static GatewayConfig parse(String yamlText, String source) {
    Object root;
    try {
      root = newYaml().load(yamlText);
    } catch (YAMLException e) {
      // Snakeyaml's messages span several lines with a caret; one line is enough for users.
      throw new ConfigException(source, List.of(oneLine(e.getMessage())));
    } catch (RuntimeException e) {
      // Snakeyaml's constructors for explicit tags fail with whatever their conversion throws, not
      // a YAMLException ("!!set x" a ClassCastException, "!!float x" a NumberFormatException,
      // "!!binary ~" an IllegalArgumentException): still a bad file, not an internal failure.
      throw new ConfigException(
          source,
          List.of(
              "malformed YAML: " + oneLine(e.getClass().getSimpleName() + ": " + e.getMessage())));
    }
    List<String> problems = new ArrayList<>();
    Map<?, ?> top;
    if (root == null) {
      top = Map.of();
    } else if (root instanceof Map<?, ?> m) {
      top = m;
    } else {
      throw new ConfigException(source, List.of("the file must hold a mapping of settings"));
    }
    GatewayConfig d = GatewayConfig.defaults();
    Section s = new Section("", top, problems);

    String host = s.string("host", d.host(), false);
    int port = s.integer("port", d.port());
    Path dataDir = s.path("data-dir", d.dataDir());
    Path keysDir = s.path("keys-dir", d.keysDir());
    String databaseUrl = s.string("database-url", d.databaseUrl(), true);
    Path databasePasswordFile = s.nullablePath("database-password-file", d.databasePasswordFile());
    Duration databaseCacheTime = s.duration("database-cache-time", d.databaseCacheTime());

    Section hk = s.section("host-keys");
    var hostKeys = new GatewayConfig.HostKeys(hk.bool("rsa", d.hostKeys().rsa()));
    hk.finish();

    Section ag = s.section("agent");
    var agent = new GatewayConfig.Agent(ag.duration("connect-timeout", d.agent().connectTimeout()));
    ag.finish();

    Section lo = s.section("local");
    GatewayConfig.Local dlo = d.local();
    GatewayConfig.SandboxLimits dr = dlo.limits();
    var local =
        new GatewayConfig.Local(
            lo.duration("idle-timeout", dlo.idleTimeout()),
            lo.choice("isolation", GatewayConfig.Isolation.values(), dlo.isolation()),
            lo.choice("network", GatewayConfig.Network.values(), dlo.network()),
            lo.choice("user", GatewayConfig.InnerUser.values(), dlo.user()),
            lo.uidRange("uid-range", dlo.uidRange()),
            limits(lo.section("limits"), dr),
            lo.string("java-command", dlo.javaCommand(), true),
            lo.bool("startup-cache", dlo.startupCache()),
            lo.integer("spare-agents", dlo.spareAgents()),
            lo.bool("idmapped-homes", dlo.idmappedHomes()),
            lo.integer("agent-starts", dlo.agentStarts()));
    lo.finish();

    Section en = s.section("env");
    var env =
        new GatewayConfig.Env(
            en.strings("allow", d.env().allow()), en.strings("extra", d.env().extra()));
    en.finish();

    Section li = s.section("limits");
    GatewayConfig.Limits dl = d.limits();
    var limits =
        new GatewayConfig.Limits(
            li.integer("max-pty-cols", dl.maxPtyCols()),
            li.integer("max-pty-rows", dl.maxPtyRows()),
            li.integer("max-env-value-bytes", dl.maxEnvValueBytes()),
            li.integer("max-env-vars", dl.maxEnvVars()),
            li.integer("max-sessions-per-connection", dl.maxSessionsPerConnection()),
            li.integer("max-channels-per-connection", dl.maxChannelsPerConnection()),
            li.integer("max-connections-per-owner", dl.maxConnectionsPerOwner()),
            li.integer("max-connections-per-sandbox", dl.maxConnectionsPerSandbox()));
    li.finish();

    Section fw = s.section("forwarding");
    GatewayConfig.Forwarding df = d.forwarding();
    var forwarding =
        new GatewayConfig.Forwarding(
            fw.bool("local", df.local()),
            fw.bool("remote", df.remote()),
            fw.bool("stream-local", df.streamLocal()),
            fw.bool("agent", df.agent()),
            fw.strings("permit-open", df.permitOpen()));
    fw.finish();

    Section ka = s.section("keepalive");
    GatewayConfig.Keepalive dk = d.keepalive();
    var keepalive =
        new GatewayConfig.Keepalive(
            ka.duration("interval", dk.interval()),
            ka.integer("count-max", dk.countMax()),
            ka.duration("idle-timeout", dk.idleTimeout()));
    ka.finish();

    Section sf = s.section("sftp");
    GatewayConfig.Sftp ds = d.sftp();
    var sftp =
        new GatewayConfig.Sftp(
            sf.integer("max-open-handles", ds.maxOpenHandles()),
            sf.integer("max-read-bytes", ds.maxReadBytes()),
            sf.integer("max-write-bytes", ds.maxWriteBytes()));
    sf.finish();

    Section se = s.section("sessions");
    var sessions =
        new GatewayConfig.Sessions(se.duration("detached-timeout", d.sessions().detachedTimeout()));
    se.finish();

    Section pa = s.section("pre-auth");
    GatewayConfig.PreAuth dp = d.preAuth();
    Section pe = pa.section("penalties");
    GatewayConfig.Penalties dpe = dp.penalties();
    var preAuth =
        new GatewayConfig.PreAuth(
            pa.duration("grace-time", dp.graceTime()),
            pa.maxStartups("max-startups", dp.maxStartups()),
            new GatewayConfig.Penalties(
                pe.bool("enabled", dpe.enabled()),
                pe.duration("auth-failure", dpe.authFailure()),
                pe.duration("no-auth", dpe.noAuth()),
                pe.duration("grace-exceeded", dpe.graceExceeded()),
                pe.duration("min", dpe.min()),
                pe.duration("max", dpe.max()),
                pe.strings("exempt", dpe.exempt())));
    pe.finish();
    pa.finish();

    Section au = s.section("auth");
    var auth =
        new GatewayConfig.Auth(
            au.choices(
                "certificate-principals",
                GatewayConfig.Principal.values(),
                d.auth().certificatePrincipals()),
            au.nullablePath("revoked-keys", d.auth().revokedKeys()));
    au.finish();

    Section me = s.section("metrics");
    var metrics =
        new GatewayConfig.Metrics(
            me.string("host", d.metrics().host(), false), me.integer("port", d.metrics().port()));
    me.finish();

    Section ad = s.section("audit");
    var audit = new GatewayConfig.Audit(ad.nullablePath("file", d.audit().file()));
    ad.finish();

    Section sd = s.section("shutdown");
    var shutdown = new GatewayConfig.Shutdown(sd.duration("grace", d.shutdown().grace()));
    sd.finish();

    Section ku = s.section("kubernetes");
    GatewayConfig.Kubernetes dku = d.kubernetes();
    var kubernetes =
        new GatewayConfig.Kubernetes(
            ku.bool("enabled", dku.enabled()),
            ku.nullablePath("kubeconfig", dku.kubeconfig()),
            ku.string("namespace", dku.namespace(), false),
            ku.integer("agent-port", dku.agentPort()),
            ku.strings("agent-command", dku.agentCommand()));
    ku.finish();
    s.finish();

    // Fields with a type problem kept their default above, so the record's own checks still run
    // and report the remaining problems in the same message.
    GatewayConfig config = null;
    try {
      config =
          new GatewayConfig(
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
    } catch (ConfigException e) {
      problems.addAll(e.problems());
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(source, problems);
    }
    return config;
  }

  private static GatewayConfig.SandboxLimits limits(Section sl, GatewayConfig.SandboxLimits dr) {
    var limits =
        new GatewayConfig.SandboxLimits(
            sl.integer("max-processes", dr.maxProcesses()),
            sl.size("memory", dr.memory()),
            sl.decimal("cpus", dr.cpus()),
            sl.integer("max-open-files", dr.maxOpenFiles()));
    sl.finish();
    return limits;
  }

  /**
   * Parses a duration as written in the config: {@code 500ms}, {@code 10s}, {@code 10m}, {@code
   * 1h}, {@code 1d}, or a plain number of seconds.
   *
   * @throws IllegalArgumentException for anything else, negative values included
   */
  public static Duration parseDuration(String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "must be a duration such as 500ms, 10s, 10m, 1h or a number of seconds, got '"
              + text
              + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  private static Yaml newYaml() {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setAllowRecursiveKeys(false);
    options.setMaxAliasesForCollections(20);
    options.setNestingDepthLimit(20);
    options.setCodePointLimit(MAX_CHARS);
    DumperOptions dumper = new DumperOptions();
    return new Yaml(
        new DecimalConstructor(options),
        new Representer(dumper),
        dumper,
        options,
        new PlainResolver());
  }

  /**
   * Resolves untagged scalars as YAML 1.2's core schema does: only true/false are booleans and only
   * decimal digits are integers. YAML 1.1 would read {@code isolation: off} as false and {@code
   * 22:22} as the sexagesimal number 1342; here both stay strings.
   */
  private static final class PlainResolver extends Resolver {
    @Override
    protected void addImplicitResolvers() {
      addImplicitResolver(
          Tag.BOOL, Pattern.compile("^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF");
      addImplicitResolver(Tag.INT, Pattern.compile("^[-+]?[0-9]+$"), "-+0123456789");
      addImplicitResolver(Tag.NULL, Pattern.compile("^(?:~|null|Null|NULL| )$"), "~nN\0");
      addImplicitResolver(Tag.NULL, EMPTY, null);
    }
  }

  /**
   * Reads integers as {@link PlainResolver} finds them: decimal digits, in base 10. Snakeyaml's own
   * constructor follows YAML 1.1 there too and reads a leading 0 as octal: {@code port: 022} was
   * port 18, and {@code port: 0999} threw NumberFormatException out of the loader.
   */
  private static final class DecimalConstructor extends SafeConstructor {
    DecimalConstructor(LoaderOptions options) {
      super(options);
      yamlConstructors.put(
          Tag.INT,
          new AbstractConstruct() {
            @Override
            public Object construct(Node node) {
              // Only an explicit !!int tag gets here with something else than digits.
              if (!(node instanceof ScalarNode scalar)) {
                throw new YAMLException("!!int on something that is not a number");
              }
              BigInteger value;
              try {
                value = new BigInteger(scalar.getValue());
              } catch (NumberFormatException e) {
                throw new YAMLException("not a decimal integer: " + scalar.getValue());
              }
              if (value.bitLength() < Integer.SIZE) {
                return value.intValue();
              }
              return value.bitLength() < Long.SIZE ? (Object) value.longValue() : value;
            }
          });
    }
  }

  /** One mapping of the file, with the dotted path that names its fields in errors. */
  private static final class Section {
    private final String prefix;
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Set<String> seen = new LinkedHashSet<>();
    private final List<String> problems;

    Section(String prefix, Map<?, ?> map, List<String> problems) {
      this.prefix = prefix;
      this.problems = problems;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (e.getKey() instanceof String key) {
          values.put(key, e.getValue());
        } else {
          problems.add(prefix + e.getKey() + ": setting names must be strings");
        }
      }
    }

    private String name(String key) {
      return prefix + key;
    }

    private boolean present(String key) {
      seen.add(key);
      return values.containsKey(key);
    }

    private void wrongType(String key, String expected, Object value) {
      problems.add(name(key) + ": must be " + expected + ", got " + show(value));
    }

    Section section(String key) {
      if (present(key)) {
        Object v = values.get(key);
        if (v instanceof Map<?, ?> m) {
          return new Section(name(key) + ".", m, problems);
        }
        // An empty section ("agent:" with nothing below) keeps every default.
        if (v != null) {
          wrongType(key, "a mapping", v);
        }
      }
      return new Section(name(key) + ".", Map.of(), problems);
    }

    String string(String key, String dflt, boolean nullable) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (v instanceof String str && !str.isBlank()) {
        return str;
      }
      if (v == null && nullable) {
        return null;
      }
      wrongType(key, "a non-empty string", v);
      return dflt;
    }

    Path path(String key, Path dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (!(v instanceof String str) || str.isBlank()) {
        wrongType(key, "a path", v);
        return dflt;
      }
      try {
        return Path.of(str);
      } catch (InvalidPathException e) {
        problems.add(name(key) + ": not a valid path: " + e.getMessage());
        return dflt;
      }
    }

    int integer(String key, int dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (v instanceof Integer i) {
        return i;
      }
      if (v instanceof Number) {
        problems.add(name(key) + ": out of range, got " + v);
      } else {
        wrongType(key, "an integer", v);
      }
      return dflt;
    }

    boolean bool(String key, boolean dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (v instanceof Boolean b) {
        return b;
      }
      wrongType(key, "true or false", v);
      return dflt;
    }

    Duration duration(String key, Duration dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (v instanceof Integer i && i >= 0) {
        return Duration.ofSeconds(i);
      }
      if (v instanceof String str) {
        try {
          return parseDuration(str);
        } catch (IllegalArgumentException e) {
          problems.add(name(key) + ": " + e.getMessage());
          return dflt;
        }
      }
      wrongType(key, "a duration such as 500ms, 10s, 10m, 1h or a number of seconds", v);
      return dflt;
    }

    /** One of an enum's constants, written in lower case with '-' for '_' ({@code best-effort}). */
    /** A list of {@link #choice} values. */
    <E extends Enum<E>> List<E> choices(String key, E[] options, List<E> dflt) {
      List<String> names = strings(key, null);
      if (names == null) {
        return dflt;
      }
      List<E> out = new ArrayList<>();
      for (String n : names) {
        E match = null;
        for (E option : options) {
          if (option.name().toLowerCase(Locale.ROOT).replace('_', '-').equals(n)) {
            match = option;
          }
        }
        if (match == null) {
          wrongType(key, "a list of " + optionNames(options), n);
          return dflt;
        }
        out.add(match);
      }
      return out;
    }

    private static <E extends Enum<E>> String optionNames(E[] options) {
      List<String> names = new ArrayList<>();
      for (E option : options) {
        names.add(option.name().toLowerCase(Locale.ROOT).replace('_', '-'));
      }
      return String.join(", ", names);
    }

    GatewayConfig.MaxStartups maxStartups(String key, GatewayConfig.MaxStartups dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      try {
        return GatewayConfig.MaxStartups.parse(String.valueOf(v));
      } catch (IllegalArgumentException e) {
        wrongType(key, "START:RATE:FULL such as 10:30:100, or a number", v);
        return dflt;
      }
    }

    /** A path, or null for {@code ~}. */
    Path nullablePath(String key, Path dflt) {
      if (present(key) && values.get(key) == null) {
        return null;
      }
      return path(key, dflt);
    }

    <E extends Enum<E>> E choice(String key, E[] options, E dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      List<String> names = new ArrayList<>();
      for (E option : options) {
        String name = option.name().toLowerCase(Locale.ROOT).replace('_', '-');
        if (name.equals(v)) {
          return option;
        }
        names.add(name);
      }
      wrongType(key, "one of " + String.join(", ", names), v);
      return dflt;
    }

    GatewayConfig.UidRange uidRange(String key, GatewayConfig.UidRange dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      GatewayConfig.UidRange range =
          v instanceof String str ? GatewayConfig.UidRange.parse(str) : null;
      if (range == null) {
        wrongType(key, "a range of uids such as 300000-399999", v);
        return dflt;
      }
      return range;
    }

    /** A size in bytes: a plain number, or a number with k, m or g (powers of 1024). */
    long size(String key, long dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (v instanceof Integer i && i >= 0) {
        return i;
      }
      if (v instanceof String str) {
        Matcher m = SIZE.matcher(str.trim().toLowerCase(Locale.ROOT));
        if (m.matches()) {
          int shift =
              m.group(2) == null
                  ? 0
                  : switch (m.group(2)) {
                    case "k" -> 10;
                    case "m" -> 20;
                    default -> 30;
                  };
          return Long.parseLong(m.group(1)) << shift;
        }
      }
      wrongType(key, "a size such as 512m, 2g or a number of bytes", v);
      return dflt;
    }

    /** A non-negative decimal number such as 1, 0.5 or 2.25. */
    double decimal(String key, double dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (v instanceof Integer i && i >= 0) {
        return i;
      }
      if (v instanceof String str && str.trim().matches("[0-9]{1,6}(\\.[0-9]{1,6})?")) {
        return Double.parseDouble(str.trim());
      }
      wrongType(key, "a number such as 1 or 0.5", v);
      return dflt;
    }

    List<String> strings(String key, List<String> dflt) {
      if (!present(key)) {
        return dflt;
      }
      Object v = values.get(key);
      if (!(v instanceof List<?> list)) {
        wrongType(key, "a list of strings", v);
        return dflt;
      }
      List<String> out = new ArrayList<>();
      boolean ok = true;
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i) instanceof String str && !str.isBlank()) {
          out.add(str);
        } else {
          problems.add(
              name(key) + "[" + i + "]: must be a non-empty string, got " + show(list.get(i)));
          ok = false;
        }
      }
      return ok ? out : dflt;
    }

    /** Reports every key of this section that no setting read: a typo must not pass silently. */
    void finish() {
      for (String key : values.keySet()) {
        if (!seen.contains(key)) {
          problems.add(name(key) + ": unknown setting");
        }
      }
    }
  }

  private static String show(Object value) {
    if (value == null) {
      return "nothing";
    }
    if (value instanceof Map) {
      return "a mapping";
    }
    if (value instanceof List) {
      return "a list";
    }
    if (value instanceof String s) {
      return "'" + s + "'";
    }
    return String.valueOf(value);
  }

  private static String oneLine(String message) {
    return message == null ? "malformed YAML" : message.replaceAll("\\s*\\n\\s*", " ").trim();
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
