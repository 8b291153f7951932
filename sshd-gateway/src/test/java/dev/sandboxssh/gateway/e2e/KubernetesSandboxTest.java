package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.cli.GatewayMain;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.routing.kubernetes.MockCluster;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sandboxes as pods: fabric8's mock API server in CRUD mode stands in for the cluster, and an agent
 * JVM the test starts on 127.0.0.1 stands in for the pod's container (the test plays the kubelet:
 * it sets the pod's phase and IP). The admin commands create and delete pods and Secrets; the real
 * OpenSSH client logs in through the gateway.
 */
@Tag("e2e")
class KubernetesSandboxTest {
  private static final String NS = "sandboxes";

  @TempDir static Path dir;

  static MockCluster cluster;
  static Path kubeconfig;
  static Path cliConfig;
  static StandaloneAgent agent;
  static GatewayFixture gateway;
  static int metricsPort;
  static OpenSsh carol;

  @BeforeAll
  static void start() throws Exception {
    cluster = new MockCluster(NS);
    kubeconfig = cluster.writeKubeconfig(dir.resolve("kubeconfig"));
    Path gatewayDir = Files.createDirectories(dir.resolve("g"));
    // What an operator's config holds; the agent port is the pod's, not the stand-in's.
    cliConfig =
        Files.writeString(
            dir.resolve("gateway.yaml"),
            """
            data-dir: %s
            kubernetes:
              enabled: true
              kubeconfig: %s
              namespace: %s
              agent-port: 7000
            """
                .formatted(gatewayDir.resolve("data"), kubeconfig, NS));
    Path carolKey = GatewayFixture.newKey(dir, "carol");
    assertThat(cli("owner", "add", "carol", "--key", carolKey + ".pub").status()).isZero();
    Cli created =
        cli(
            "sandbox",
            "create",
            "--owner",
            "carol",
            "--id",
            "web",
            "--provider",
            "kubernetes",
            "--image",
            "sandbox-ssh/agent:test");
    assertThat(created.status()).as(created.err()).isZero();
    assertThat(created.out()).isEqualTo("web\n");
    assertThat(created.err()).isEmpty();

    // The kubelet's part: the pod's container runs the agent with the Secret's token, and the
    // pod is Running at an IP the gateway can dial.
    String token = cluster.secretValue("sandbox-web-token", "token");
    agent = StandaloneAgent.startOnTcp(Files.createDirectories(dir.resolve("pod")), token);
    cluster.markRunning("sandbox-web", "127.0.0.1");

    metricsPort = OpsHttp.freePort();
    gateway =
        GatewayFixture.start(
            gatewayDir,
            c ->
                c.withKubernetes(
                        new GatewayConfig.Kubernetes(
                            true, kubeconfig, NS, agent.port(), c.kubernetes().agentCommand()))
                    .withMetrics(new GatewayConfig.Metrics("127.0.0.1", metricsPort)));
    carol = gateway.ssh().withIdentity(carolKey);
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (agent != null) {
      agent.close();
    }
    cluster.close();
  }

  @Test
  void openSshRunsACommandInThePod() {
    OpenSsh.Result r = carol.ssh("web", "echo hello from $((6 * 7)); exit 3");
    assertThat(r.stdout()).as(r.stderr()).isEqualTo("hello from 42\n");
    assertThat(r.exitCode()).isEqualTo(3);
    // The pod's agent, reached by this gateway, is what the metrics count as running.
    String scrape = new OpsHttp(metricsPort).scrape();
    assertThat(OpsHttp.value(scrape, "sandboxssh_agents_running{provider=\"kubernetes\"}"))
        .isEqualTo(1);
  }

  @Test
  void aPodThatTurnsFailedEndsTheSessionWithOneLine() {
    cluster.markPhase("sandbox-web", "Failed", "Error");
    try {
      OpenSsh.Result r = carol.ssh("web", "echo should-not-run");
      assertThat(r.exitCode()).isEqualTo(255);
      assertThat(r.stdout()).isEmpty();
      assertThat(r.stderr())
          .isEqualTo("sandbox web is not running: its pod sandbox-web is Failed (Error)\n");
    } finally {
      cluster.markRunning("sandbox-web", "127.0.0.1");
    }
    // Running again: the next login reaches the agent, which never went away.
    OpenSsh.Result again = carol.ssh("web", "echo back");
    assertThat(again.stdout()).as(again.stderr()).isEqualTo("back\n");
  }

  @Test
  void aSandboxWithoutItsPodGetsOneLine() {
    gateway
        .app()
        .store()
        .createSandbox(
            new SandboxRecord(
                "nopod",
                "carol",
                SandboxRecord.Provider.KUBERNETES,
                null,
                null,
                SandboxRecord.State.CREATED,
                Instant.now()));
    OpenSsh.Result r = carol.ssh("nopod", "echo should-not-run");
    assertThat(r.exitCode()).isEqualTo(255);
    assertThat(r.stderr())
        .isEqualTo(
            "sandbox nopod is not running: no pod labelled sandbox-ssh/id=nopod in namespace "
                + NS
                + "\n");
  }

  @Test
  void deleteRemovesThePodAndItsSecret() throws Exception {
    Cli created =
        cli(
            "sandbox",
            "create",
            "--owner",
            "carol",
            "--id",
            "gone",
            "--provider",
            "kubernetes",
            "--image",
            "img");
    assertThat(created.status()).as(created.err()).isZero();
    assertThat(cluster.pod("sandbox-gone")).isNotNull();
    assertThat(cluster.secret("sandbox-gone-token")).isNotNull();

    Cli deleted = cli("sandbox", "delete", "gone");
    assertThat(deleted.status()).as(deleted.err()).isZero();
    assertThat(deleted.out()).isEqualTo("deleted sandbox gone\n");
    assertThat(deleted.err()).isEmpty();
    assertThat(cluster.pod("sandbox-gone")).isNull();
    assertThat(cluster.secret("sandbox-gone-token")).isNull();
    assertThat(gateway.app().store().findSandbox("gone")).isEmpty();
    assertThat(cluster.pod("sandbox-web")).isNotNull();

    // Removing an owner removes the pods of its sandboxes too.
    Path daveKey = GatewayFixture.newKey(dir, "dave");
    assertThat(cli("owner", "add", "dave", "--key", daveKey + ".pub").status()).isZero();
    assertThat(
            cli(
                    "sandbox",
                    "create",
                    "--owner",
                    "dave",
                    "--id",
                    "daves",
                    "--provider",
                    "kubernetes",
                    "--image",
                    "img")
                .status())
        .isZero();
    assertThat(cluster.pod("sandbox-daves")).isNotNull();
    Cli removed = cli("owner", "remove", "dave");
    assertThat(removed.status()).as(removed.err()).isZero();
    assertThat(removed.out()).isEqualTo("removed owner dave and 1 sandbox\n");
    assertThat(cluster.pod("sandbox-daves")).isNull();
    assertThat(cluster.secret("sandbox-daves-token")).isNull();
    assertThat(cluster.pod("sandbox-web")).isNotNull();
  }

  @Test
  void createRefusesWhatIsMissingAndLeavesNoRow() {
    Cli noImage =
        cli("sandbox", "create", "--owner", "carol", "--id", "x1", "--provider", "kubernetes");
    assertThat(noImage.status()).isEqualTo(GatewayMain.EXIT_USAGE);
    assertThat(noImage.err())
        .isEqualTo("error: --provider kubernetes needs --image IMAGE (an image with the agent)\n");

    // Without a config that enables kubernetes, no cluster is reached.
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        GatewayMain.execute(
            new String[] {
              "sandbox",
              "create",
              "--owner",
              "carol",
              "--id",
              "x2",
              "--provider",
              "kubernetes",
              "--image",
              "img",
              "--data-dir",
              gateway.config().dataDir().toString()
            },
            new PrintWriter(out),
            new PrintWriter(err),
            c -> 1);
    assertThat(status).isEqualTo(GatewayMain.EXIT_USAGE);
    assertThat(err.toString())
        .isEqualTo(
            "error: kubernetes sandboxes need a --config file with kubernetes.enabled: true\n");

    // A pod that is already there: the row made for it is removed again.
    cluster.create(
        new io.fabric8.kubernetes.api.model.PodBuilder()
            .withNewMetadata()
            .withName("sandbox-x3")
            .endMetadata()
            .build());
    Cli conflict =
        cli(
            "sandbox",
            "create",
            "--owner",
            "carol",
            "--id",
            "x3",
            "--provider",
            "kubernetes",
            "--image",
            "img");
    assertThat(conflict.status()).isEqualTo(GatewayMain.EXIT_USAGE);
    assertThat(conflict.err()).startsWith("error: pod sandbox-x3 already exists in namespace");
    assertThat(cluster.secret("sandbox-x3-token")).isNull();

    assertThat(gateway.app().store().listSandboxes())
        .extracting(SandboxRecord::id)
        .doesNotContain("x1", "x2", "x3");
  }

  @Test
  void aGatewayWithoutKubernetesRefusesPodSandboxes() throws Exception {
    try (GatewayFixture off = GatewayFixture.start(Files.createDirectories(dir.resolve("off")))) {
      off.app()
          .store()
          .createSandbox(
              new SandboxRecord(
                  "web",
                  GatewayFixture.OWNER,
                  SandboxRecord.Provider.KUBERNETES,
                  null,
                  null,
                  SandboxRecord.State.CREATED,
                  Instant.now()));
      OpenSsh.Result r = off.ssh().ssh("web", "echo should-not-run");
      assertThat(r.exitCode()).isEqualTo(255);
      assertThat(r.stderr())
          .isEqualTo(
              "sandbox web is not running: provider kubernetes is not enabled on this gateway\n");
    }
  }

  @Test
  void aGatewayWithoutKubernetesLoadsNoneOfItsClasses() throws Exception {
    // A JVM of its own: this one loaded the client for the tests above.
    Path home = Files.createDirectories(dir.resolve("plain"));
    Path classLog = home.resolve("classes.log");
    Path config =
        Files.writeString(home.resolve("gateway.yaml"), "local: {startup-cache: false}\n");
    List<String> argv =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xlog:class+load=info:file=" + classLog,
            "-Duser.home=" + home,
            "--enable-native-access=ALL-UNNAMED",
            "--add-opens",
            "java.base/com.sun.crypto.provider=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            GatewayMain.class.getName(),
            "serve",
            "--config",
            config.toString(),
            "--port",
            "0",
            "--data-dir",
            home.resolve("data").toString(),
            "--keys-dir",
            home.resolve("keys").toString());
    Process p = new ProcessBuilder(argv).redirectOutput(home.resolve("stdout").toFile()).start();
    List<String> lines = new ArrayList<>();
    try {
      BufferedReader err =
          new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
      String listening =
          CompletableFuture.supplyAsync(
                  () -> {
                    try {
                      for (String line; (line = err.readLine()) != null; ) {
                        lines.add(line);
                        if (line.contains("gateway listening on")) {
                          return line;
                        }
                      }
                      return null;
                    } catch (java.io.IOException e) {
                      return null;
                    }
                  })
              .get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
      assertThat(listening).as("the gateway's log: %s", lines).isNotNull();
    } finally {
      p.destroy();
      p.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
    }
    List<String> loaded = Files.readAllLines(classLog);
    assertThat(loaded).anyMatch(l -> l.contains(" dev.sandboxssh.gateway.app.GatewayApp "));
    assertThat(loaded.stream().filter(l -> l.contains("io.fabric8.")).toList()).isEmpty();
  }

  private record Cli(int status, String out, String err) {}

  /** Runs an admin command with the operator's config, in this JVM. */
  private static Cli cli(String... args) {
    String[] withConfig = java.util.Arrays.copyOf(args, args.length + 2);
    withConfig[args.length] = "--config";
    withConfig[args.length + 1] = cliConfig.toString();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        GatewayMain.execute(
            withConfig,
            new PrintWriter(out),
            new PrintWriter(err),
            config -> {
              throw new AssertionError("not an admin command");
            });
    return new Cli(status, out.toString(), err.toString());
  }
}
