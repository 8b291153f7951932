package dev.sandboxssh.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

class ConfigLoaderTest {

  private static final Path SHIPPED = Path.of("..", "config", "gateway.yaml");

  @Test
  void shippedFileGivesExactlyTheDefaults() {
    assertThat(SHIPPED).exists();
    assertThat(ConfigLoader.load(SHIPPED)).isEqualTo(GatewayConfig.defaults());
  }

  @Test
  void shippedFileNamesEverySettingAndNothingElse() throws Exception {
    // Every component of the config record, nested records recursed into, is a setting; the
    // file must hold each as a whole YAML key at its place ("keepalive.idle-timeout", not just
    // some "idle-timeout:" somewhere), so that no setting goes undocumented.
    assertThat(settingsIn(Files.readString(SHIPPED)))
        .containsExactlyInAnyOrderElementsOf(settingsOf(GatewayConfig.class, ""));
  }

  @Test
  void settingsAreDerivedFromTheRecordAndTheFileAsWholeKeys() {
    assertThat(settingsOf(GatewayConfig.class, ""))
        .contains(
            "host", "data-dir", "host-keys.rsa", "local.idle-timeout", "keepalive.idle-timeout")
        .contains("local.uid-range", "local.limits.memory")
        .doesNotContain("local", "keepalive", "idle-timeout", "local.uid-range.first");
    assertThat(settingsIn("a: 1\nb:\n  c-d: x\n  e: {f: [1, 2]}\n# g: 3\n"))
        .containsExactlyInAnyOrder("a", "b.c-d", "b.e.f");
  }

  /** Kebab-case paths of the record's components; a record-typed component is a section. */
  private static List<String> settingsOf(Class<?> record, String prefix) {
    List<String> settings = new ArrayList<>();
    for (RecordComponent c : record.getRecordComponents()) {
      String key =
          prefix + c.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
      if (c.getType().isRecord() && !writtenAsOneValue(c.getType())) {
        settings.addAll(settingsOf(c.getType(), key + "."));
      } else {
        settings.add(key);
      }
    }
    return settings;
  }

  /** A record with a static parse(String), such as a uid range, is one value, not a section. */
  private static boolean writtenAsOneValue(Class<?> record) {
    try {
      return java.lang.reflect.Modifier.isStatic(
          record.getMethod("parse", String.class).getModifiers());
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /** Dotted paths of the leaf keys of a YAML document; every scalar read as a string. */
  private static List<String> settingsIn(String yaml) {
    LoaderOptions options = new LoaderOptions();
    DumperOptions dumper = new DumperOptions();
    Resolver stringsOnly =
        new Resolver() {
          @Override
          protected void addImplicitResolvers() {}
        };
    Object root =
        new Yaml(
                new SafeConstructor(options), new Representer(dumper), dumper, options, stringsOnly)
            .load(yaml);
    List<String> keys = new ArrayList<>();
    collectKeys(root, "", keys);
    return keys;
  }

  private static void collectKeys(Object node, String prefix, List<String> keys) {
    if (!(node instanceof Map<?, ?> map)) {
      return;
    }
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String key = prefix + e.getKey();
      if (e.getValue() instanceof Map<?, ?>) {
        collectKeys(e.getValue(), key + ".", keys);
      } else {
        keys.add(key);
      }
    }
  }

  @Test
  void emptyFileGivesTheDefaults() {
    assertThat(ConfigLoader.parse("", "t.yaml")).isEqualTo(GatewayConfig.defaults());
    assertThat(ConfigLoader.parse("# nothing\n", "t.yaml")).isEqualTo(GatewayConfig.defaults());
  }

  @Test
  void readsEveryKindOfValue() {
    GatewayConfig c =
        ConfigLoader.parse(
            """
            host: 0.0.0.0
            port: 2200
            data-dir: /var/lib/sandbox-ssh
            database-url: jdbc:sqlite:/tmp/x.db
            host-keys: {rsa: true}
            agent: {connect-timeout: 500ms}
            local:
              idle-timeout: 1h
              isolation: off
              network: none
              user: root
              uid-range: 500000-500999
              limits: {max-processes: 64, memory: 512m, cpus: "0.5", max-open-files: 1024}
              java-command: /usr/bin/java
              startup-cache: false
              spare-agents: 2
              idmapped-homes: false
              agent-starts: 3
            env:
              extra: [MY_*, CI]
            forwarding:
              remote: false
              permit-open: [localhost:22, "*:443", "[::1]:8080"]
            keepalive: {interval: 30, idle-timeout: 2d}
            sftp: {max-read-bytes: 65536}
            sessions: {detached-timeout: 0}
            limits: {max-sessions-per-connection: 3, max-connections-per-sandbox: 0}
            pre-auth:
              grace-time: 5s
              max-startups: "4:50:8"
              penalties: {enabled: false, exempt: [192.0.2.1, "2001:db8::/32"]}
            auth:
              certificate-principals: [any]
              revoked-keys: /etc/ssh/revoked
            """,
            "t.yaml");
    assertThat(c.limits().maxSessionsPerConnection()).isEqualTo(3);
    assertThat(c.limits().maxChannelsPerConnection()).isEqualTo(256);
    assertThat(c.limits().maxConnectionsPerSandbox()).isZero();
    assertThat(c.preAuth().graceTime()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.preAuth().maxStartups()).isEqualTo(new GatewayConfig.MaxStartups(4, 50, 8));
    assertThat(c.preAuth().penalties().enabled()).isFalse();
    assertThat(c.preAuth().penalties().exempt()).containsExactly("192.0.2.1", "2001:db8::/32");
    assertThat(c.preAuth().penalties().min()).isEqualTo(Duration.ofSeconds(15));
    assertThat(c.auth().certificatePrincipals()).containsExactly(GatewayConfig.Principal.ANY);
    assertThat(c.auth().revokedKeys()).isEqualTo(Path.of("/etc/ssh/revoked"));
    assertThat(c.host()).isEqualTo("0.0.0.0");
    assertThat(c.port()).isEqualTo(2200);
    assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/sandbox-ssh"));
    assertThat(c.keysDir()).isEqualTo(Path.of("keys"));
    assertThat(c.effectiveDatabaseUrl()).isEqualTo("jdbc:sqlite:/tmp/x.db");
    assertThat(c.hostKeys().rsa()).isTrue();
    assertThat(c.agent().connectTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.local())
        .isEqualTo(
            new GatewayConfig.Local(
                Duration.ofHours(1),
                GatewayConfig.Isolation.OFF,
                GatewayConfig.Network.NONE,
                GatewayConfig.InnerUser.ROOT,
                new GatewayConfig.UidRange(500_000, 500_999),
                new GatewayConfig.SandboxLimits(64, 512L << 20, 0.5, 1024),
                "/usr/bin/java",
                false,
                2,
                false,
                3));
    assertThat(c.env().patterns())
        .containsExactly("LANG", "LC_*", "TERM", "COLORTERM", "GIT_PROTOCOL", "MY_*", "CI");
    assertThat(c.forwarding().remote()).isFalse();
    assertThat(c.forwarding().local()).isTrue();
    assertThat(c.forwarding().permitOpen()).containsExactly("localhost:22", "*:443", "[::1]:8080");
    assertThat(c.keepalive().interval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.keepalive().idleTimeout()).isEqualTo(Duration.ofDays(2));
    assertThat(c.sftp().maxReadBytes()).isEqualTo(65536);
    assertThat(c.sftp().maxWriteBytes()).isEqualTo(262144);
    assertThat(c.sessions().detachedTimeout()).isZero();
  }

  @Test
  void durations() {
    assertThat(ConfigLoader.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(ConfigLoader.parseDuration("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(ConfigLoader.parseDuration("10m")).isEqualTo(Duration.ofMinutes(10));
    assertThat(ConfigLoader.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(ConfigLoader.parseDuration("7")).isEqualTo(Duration.ofSeconds(7));
    for (String bad : List.of("", "-1s", "10 s", "1.5s", "10x", "s", "1234567890s")) {
      assertThatThrownBy(() -> ConfigLoader.parseDuration(bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void everyBadFieldIsNamedInOneError() {
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    """
                    port: 70000
                    data-dir: 12
                    prot: 22
                    agent: {connect-timeout: soon}
                    local: {isolation: maybe, idle-timeout: 0, uid-range: 0-10, limits: {memory: 1t, cpus: lots}, spare-agents: 99, agent-starts: -1}
                    env: {allow: [LANG, 3], extra: [bad-name]}
                    limits: {max-pty-cols: "80", max-pty-rows: 99999999999}
                    forwarding: {local: yes, permit-open: [nowhere]}
                    keepalive: {interval: 10s, count-max: 0, typo: 1}
                    sftp: 5
                    database-url: postgres://x
                    pre-auth: {max-startups: "10:0:5", penalties: {min: 0, max: 1s, exempt: [10.0.0.0/33, example.com]}}
                    auth: {certificate-principals: [everyone]}
                    """,
                    "bad.yaml"))
        .isInstanceOfSatisfying(
            ConfigException.class,
            e -> {
              assertThat(e.getMessage()).startsWith("bad.yaml: invalid configuration: ");
              assertThat(String.join("\n", e.problems()))
                  .contains("port: must be 0..65535, got 70000")
                  .contains("data-dir: must be a path, got 12")
                  .contains("prot: unknown setting")
                  .contains("agent.connect-timeout: must be a duration")
                  .contains(
                      "local.isolation: must be one of best-effort, required, off, got 'maybe'")
                  .contains("local.uid-range: must be FIRST-LAST with 1000 <= FIRST")
                  .contains("local.limits.memory: must be a size such as 512m, 2g")
                  .contains("local.limits.cpus: must be a number such as 1 or 0.5, got 'lots'")
                  .contains("local.idle-timeout: must be > 0")
                  .contains("local.spare-agents: must be 0..16, got 99")
                  .contains("local.agent-starts: must be 0..256, got -1")
                  .contains("env.allow[1]: must be a non-empty string, got 3")
                  .contains("env: bad name pattern 'bad-name'")
                  .contains("limits.max-pty-cols: must be an integer, got '80'")
                  .contains("limits.max-pty-rows: out of range")
                  .contains("forwarding.local: must be true or false, got 'yes'")
                  .contains("forwarding.permit-open: bad target 'nowhere'")
                  .contains("keepalive.count-max: must be >= 1")
                  .contains("keepalive.typo: unknown setting")
                  .contains("sftp: must be a mapping, got 5")
                  .contains("database-url: must be a jdbc:sqlite: or jdbc:postgresql:// URL")
                  .contains("pre-auth.max-startups: must be START:RATE:FULL")
                  .contains("pre-auth.penalties.min: must be > 0")
                  .contains("pre-auth.penalties.exempt: bad address or range '10.0.0.0/33'")
                  .contains("pre-auth.penalties.exempt: bad address or range 'example.com'")
                  .contains(
                      "auth.certificate-principals: must be a list of sandbox, owner, any,"
                          + " got 'everyone'");
              assertThat(e.problems()).hasSize(26);
              assertThat(e.getMessage()).doesNotContain("\n");
            });
  }

  @Test
  void malformedYamlIsOneLine() {
    assertThatThrownBy(() -> ConfigLoader.parse("port: [1,\n  host: x", "m.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("m.yaml: invalid configuration: ")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    assertThatThrownBy(() -> ConfigLoader.parse("port: 1\nport: 2\n", "d.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("port");
    assertThatThrownBy(() -> ConfigLoader.parse("- a\n- b\n", "l.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("mapping");
  }

  @Test
  void integersAreDecimalEvenWithLeadingZeros() {
    // YAML 1.1 would read 022 as octal 18, and 0999 not at all.
    assertThat(ConfigLoader.parse("port: 022", "t.yaml").port()).isEqualTo(22);
    assertThat(ConfigLoader.parse("port: 0999", "t.yaml").port()).isEqualTo(999);
    assertThat(ConfigLoader.parse("port: +2200", "t.yaml").port()).isEqualTo(2200);
    assertThatThrownBy(() -> ConfigLoader.parse("port: 99999999999999999999", "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("port: out of range");
    assertThatThrownBy(() -> ConfigLoader.parse("port: !!int 0x16", "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("not a decimal integer");
  }

  @Test
  void explicitTagsThatDoNotFitTheirValueAreConfigErrors() {
    for (String yaml :
        List.of("!!set b?", "port: !!int [1]", "host: !!float x", "host: !!binary ~~")) {
      assertThatThrownBy(() -> ConfigLoader.parse(yaml, "t.yaml"))
          .as(yaml)
          .isInstanceOf(ConfigException.class)
          .hasMessageStartingWith("t.yaml: invalid configuration: ");
    }
  }

  @Test
  void arbitraryTagsAreRefused() {
    assertThatThrownBy(
            () -> ConfigLoader.parse("host: !!javax.script.ScriptEngineManager []", "t.yaml"))
        .isInstanceOf(ConfigException.class);
  }

  @Test
  void unreadableFileIsNamed(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");
    assertThatThrownBy(() -> ConfigLoader.load(missing))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("cannot read");
  }

  @Test
  void overridesReplaceOnlyWhatIsGiven() {
    GatewayConfig c = GatewayConfig.defaults().withOverrides(null, 2300, Path.of("/tmp/d"), null);
    assertThat(c.host()).isEqualTo("127.0.0.1");
    assertThat(c.port()).isEqualTo(2300);
    assertThat(c.dataDir()).isEqualTo(Path.of("/tmp/d"));
    assertThat(c.keysDir()).isEqualTo(Path.of("keys"));
    assertThatThrownBy(() -> GatewayConfig.defaults().withOverrides("", -1, null, null))
        .isInstanceOf(ConfigException.class)
        .satisfies(e -> assertThat(((ConfigException) e).problems()).hasSize(2));
  }

  @Test
  void dataDirLayout(@TempDir Path dir) throws Exception {
    DataDir d = new DataDir(dir.resolve("data")).create();
    assertThat(d.database()).isEqualTo(dir.resolve("data/gateway.db"));
    assertThat(d.sandboxDir("demo")).isEqualTo(dir.resolve("data/sandboxes/demo"));
    assertThat(d.run()).isDirectory();
    assertThat(Files.getPosixFilePermissions(d.run()))
        .containsExactlyInAnyOrderElementsOf(
            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    for (String bad : List.of("..", "a/b", "-x", "", "UPPER", "x".repeat(64))) {
      assertThatThrownBy(() -> d.sandboxDir(bad)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(GatewayConfig.defaults().withOverrides(null, null, dir, null).effectiveDatabaseUrl())
        .isEqualTo("jdbc:sqlite:" + new DataDir(dir).database().toAbsolutePath());
  }

  @Test
  void kubernetesSectionIsOffByDefaultAndChecked() {
    assertThat(GatewayConfig.defaults().kubernetes().enabled()).isFalse();
    GatewayConfig c =
        ConfigLoader.parse(
            """
            kubernetes:
              enabled: true
              kubeconfig: /etc/kube/config
              namespace: sandboxes
              agent-port: 7100
              agent-command: [/opt/agent/bin/sandbox-agent]
            """,
            "t.yaml");
    assertThat(c.kubernetes())
        .isEqualTo(
            new GatewayConfig.Kubernetes(
                true,
                Path.of("/etc/kube/config"),
                "sandboxes",
                7100,
                List.of("/opt/agent/bin/sandbox-agent")));
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    """
                    kubernetes:
                      enabled: yes
                      namespace: Not_A_Label
                      agent-port: 0
                      agent-command: []
                      in-cluster: true
                    """,
                    "k.yaml"))
        .isInstanceOfSatisfying(
            ConfigException.class,
            e ->
                assertThat(e.problems())
                    .containsExactlyInAnyOrder(
                        "kubernetes.enabled: must be true or false, got 'yes'",
                        "kubernetes.in-cluster: unknown setting",
                        "kubernetes.namespace: must be a namespace name (a DNS label)",
                        "kubernetes.agent-port: must be 1..65535, got 0",
                        "kubernetes.agent-command: must name the agent's program"));
  }
}
