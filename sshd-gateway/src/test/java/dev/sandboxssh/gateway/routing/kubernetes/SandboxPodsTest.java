package dev.sandboxssh.gateway.routing.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.gateway.config.GatewayConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sandboxes as pods against fabric8's mock API server: lookups, refusals, create and delete. */
class SandboxPodsTest {
  private static final String NS = "sandboxes";

  @TempDir static Path dir;

  private static MockCluster cluster;
  private static SandboxPods pods;

  @BeforeAll
  static void start() throws Exception {
    cluster = new MockCluster(NS);
    pods = SandboxPods.connect(config(cluster.writeKubeconfig(dir.resolve("kubeconfig"))), TIMEOUT);
  }

  @AfterEach
  void forgetEverything() {
    cluster.reset();
  }

  @AfterAll
  static void stop() {
    pods.close();
    cluster.close();
  }

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private static GatewayConfig.Kubernetes config(Path kubeconfig) {
    return new GatewayConfig.Kubernetes(
        true, kubeconfig, NS, 7000, List.of("java", "-jar", "/opt/agent.jar"));
  }

  @Test
  void createMakesATokenSecretAndAPodRunningTheAgent() throws Exception {
    assertThat(pods.create("web", "alice", "registry.example/sandbox:1")).isEqualTo("sandbox-web");

    Secret secret = cluster.secret("sandbox-web-token");
    assertThat(secret.getMetadata().getLabels()).containsEntry("sandbox-ssh/id", "web");
    assertThat(secret.getImmutable()).isTrue();
    String token = cluster.secretValue("sandbox-web-token", "token");
    assertThat(token).matches("[A-Za-z0-9_-]{43}");

    Pod pod = cluster.pod("sandbox-web");
    assertThat(pod.getMetadata().getLabels()).containsEntry("sandbox-ssh/id", "web");
    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry("sandbox-ssh/token-secret", "sandbox-web-token")
        .containsEntry("sandbox-ssh/owner", "alice");
    assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
    assertThat(pod.getSpec().getEnableServiceLinks()).isFalse();
    Container c = pod.getSpec().getContainers().get(0);
    assertThat(c.getImage()).isEqualTo("registry.example/sandbox:1");
    assertThat(c.getCommand())
        .containsExactly(
            "java",
            "-jar",
            "/opt/agent.jar",
            "--listen",
            "0.0.0.0:7000",
            "--token-file",
            "/run/sandbox-ssh/token");
    assertThat(c.getPorts().get(0).getContainerPort()).isEqualTo(7000);
    assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    assertThat(c.getVolumeMounts().get(0).getMountPath()).isEqualTo("/run/sandbox-ssh");
    assertThat(pod.getSpec().getVolumes().get(0).getSecret().getSecretName())
        .isEqualTo("sandbox-web-token");

    // A fresh pod has no status yet: it is not running.
    assertThatThrownBy(() -> pods.locate("web"))
        .isInstanceOfSatisfying(
            PodException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(PodException.Kind.NOT_RUNNING);
              assertThat(e.getMessage()).isEqualTo("its pod sandbox-web is not scheduled yet");
            });

    cluster.markRunning("sandbox-web", "10.1.2.3");
    SandboxPods.Agent agent = pods.locate("web");
    assertThat(agent.podName()).isEqualTo("sandbox-web");
    assertThat(agent.endpoint()).isEqualTo("10.1.2.3:7000");
    assertThat(agent.token()).isEqualTo(token);
    assertThat(agent.toString()).doesNotContain(token);

    cluster.markRunning("sandbox-web", "fd00::17");
    assertThat(pods.locate("web").endpoint()).isEqualTo("[fd00::17]:7000");
  }

  @Test
  void eachSandboxGetsItsOwnToken() throws Exception {
    pods.create("one", "alice", "img");
    pods.create("two", "alice", "img");
    assertThat(cluster.secretValue("sandbox-one-token", "token"))
        .isNotEqualTo(cluster.secretValue("sandbox-two-token", "token"));
  }

  @Test
  void aPodThatIsNotRunningSaysWhy() throws Exception {
    assertThat(notRunning("web"))
        .isEqualTo("no pod labelled sandbox-ssh/id=web in namespace " + NS);

    pods.create("web", "alice", "img");
    cluster.markPhase("sandbox-web", "Pending", null);
    assertThat(notRunning("web")).isEqualTo("its pod sandbox-web is Pending");

    cluster.markPhase("sandbox-web", "Failed", "Evicted");
    assertThat(notRunning("web")).isEqualTo("its pod sandbox-web is Failed (Evicted)");

    cluster.editStatus("sandbox-web", p -> p.withNewStatus().withPhase("Running").endStatus());
    assertThat(notRunning("web")).isEqualTo("its pod sandbox-web has no IP");

    cluster.editStatus(
        "sandbox-web",
        p ->
            p.withNewStatus()
                .withPhase("Running")
                .withPodIP("10.0.0.9")
                .addNewContainerStatus()
                .withName("sandbox")
                .withNewState()
                .withNewWaiting()
                .withReason("CrashLoopBackOff")
                .endWaiting()
                .endState()
                .endContainerStatus()
                .endStatus());
    assertThat(notRunning("web"))
        .isEqualTo("its pod sandbox-web has container sandbox waiting (CrashLoopBackOff)");

    cluster.markRunning("sandbox-web", "10.0.0.9");
    assertThat(pods.locate("web").endpoint()).isEqualTo("10.0.0.9:7000");
  }

  @Test
  void deleteRemovesThePodAndItsSecretOnly() throws Exception {
    pods.create("web", "alice", "img");
    pods.create("other", "alice", "img");

    assertThat(pods.delete("web")).isEqualTo(2);

    assertThat(cluster.pod("sandbox-web")).isNull();
    assertThat(cluster.secret("sandbox-web-token")).isNull();
    assertThat(cluster.pod("sandbox-other")).isNotNull();
    assertThat(cluster.secret("sandbox-other-token")).isNotNull();
    assertThat(notRunning("web")).startsWith("no pod labelled");
    assertThat(pods.delete("web")).isZero();
  }

  @Test
  void createRefusesLeftoversAndLeavesThemAlone() throws Exception {
    pods.create("web", "alice", "img");
    String token = cluster.secretValue("sandbox-web-token", "token");
    assertThatThrownBy(() -> pods.create("web", "bob", "img"))
        .isInstanceOfSatisfying(
            PodException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(PodException.Kind.CONFLICT);
              assertThat(e.getMessage())
                  .isEqualTo(
                      "Secret sandbox-web-token already exists in namespace "
                          + NS
                          + " (left from a deleted sandbox?); delete it or pick another id");
            });
    assertThat(cluster.secretValue("sandbox-web-token", "token")).isEqualTo(token);
    assertThat(cluster.pod("sandbox-web").getMetadata().getAnnotations())
        .containsEntry("sandbox-ssh/owner", "alice");

    // A pod left without its Secret: the Secret made for it is removed again.
    cluster.create(pod("sandbox-lone", "lone", "sandbox-lone-token"));
    assertThatThrownBy(() -> pods.create("lone", "alice", "img"))
        .isInstanceOfSatisfying(
            PodException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(PodException.Kind.CONFLICT);
              assertThat(e.getMessage()).startsWith("pod sandbox-lone already exists");
            });
    assertThat(cluster.secret("sandbox-lone-token")).isNull();
  }

  @Test
  void twoPodsForOneSandboxAreRefused() throws Exception {
    pods.create("web", "alice", "img");
    cluster.markRunning("sandbox-web", "10.0.0.1");
    cluster.create(pod("impostor", "web", "sandbox-web-token"));
    cluster.markRunning("impostor", "10.0.0.66");

    PodException e = locateFails("web");
    assertThat(e.kind()).isEqualTo(PodException.Kind.REFUSED);
    assertThat(e.getMessage())
        .isEqualTo(
            "2 pods are labelled sandbox-ssh/id=web (impostor, sandbox-web); the gateway uses"
                + " none of them");
  }

  @Test
  void thePodsSecretMustBelongToTheSameSandbox() throws Exception {
    pods.create("victim", "alice", "img");
    // A pod of another sandbox that names the victim's Secret must not get its token.
    cluster.create(secret("sandbox-thief-token", "thief", "thief-token"));
    cluster.create(pod("sandbox-thief", "thief", "sandbox-victim-token"));
    cluster.markRunning("sandbox-thief", "10.0.0.7");
    PodException e = locateFails("thief");
    assertThat(e.kind()).isEqualTo(PodException.Kind.REFUSED);
    assertThat(e.getMessage())
        .isEqualTo("Secret sandbox-victim-token is not labelled sandbox-ssh/id=thief");

    cluster.create(pod("sandbox-nosecret", "nosecret", "sandbox-missing"));
    cluster.markRunning("sandbox-nosecret", "10.0.0.8");
    assertThat(locateFails("nosecret").getMessage())
        .isEqualTo("its token Secret sandbox-missing does not exist");

    cluster.create(pod("sandbox-noannotation", "noannotation", null));
    cluster.markRunning("sandbox-noannotation", "10.0.0.9");
    assertThat(locateFails("noannotation").getMessage())
        .isEqualTo(
            "its pod sandbox-noannotation names no token Secret (annotation"
                + " sandbox-ssh/token-secret)");

    cluster.create(secret("sandbox-blank-token", "blank", " "));
    cluster.create(pod("sandbox-blank", "blank", "sandbox-blank-token"));
    cluster.markRunning("sandbox-blank", "10.0.0.10");
    assertThat(locateFails("blank").getMessage())
        .isEqualTo("Secret sandbox-blank-token holds no usable token under the key token");
  }

  @Test
  void aPodIpMustBeAnAddress() throws Exception {
    pods.create("web", "alice", "img");
    cluster.markRunning("sandbox-web", "attacker.example");
    PodException e = locateFails("web");
    assertThat(e.kind()).isEqualTo(PodException.Kind.REFUSED);
    assertThat(e.getMessage()).isEqualTo("its pod sandbox-web reports a bad IP 'attacker.example'");
  }

  @Test
  void anUnreachableApiIsOneLine() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    Path kubeconfig =
        MockCluster.writeKubeconfig(dir.resolve("closed"), "http://127.0.0.1:" + closed);
    try (SandboxPods nowhere = SandboxPods.connect(config(kubeconfig), TIMEOUT)) {
      PodException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              PodException.class, () -> nowhere.locate("web"));
      assertThat(e.kind()).isEqualTo(PodException.Kind.API);
      assertThat(e.getMessage())
          .startsWith("cannot reach the Kubernetes API (")
          .doesNotContain("\n");
    }
  }

  @Test
  void aKubeconfigThatCannotBeReadIsNamed() {
    Path missing = dir.resolve("no-such-kubeconfig");
    assertThatThrownBy(() -> SandboxPods.connect(config(missing), TIMEOUT))
        .isInstanceOf(PodException.class)
        .hasMessage("kubernetes.kubeconfig: cannot read " + missing);
  }

  private String notRunning(String id) {
    PodException e = locateFails(id);
    assertThat(e.kind()).as(e.getMessage()).isEqualTo(PodException.Kind.NOT_RUNNING);
    return e.getMessage();
  }

  private PodException locateFails(String id) {
    return org.junit.jupiter.api.Assertions.assertThrows(PodException.class, () -> pods.locate(id));
  }

  private static Pod pod(String name, String id, String secretName) {
    PodBuilder b =
        new PodBuilder()
            .withNewMetadata()
            .withName(name)
            .withLabels(Map.of("sandbox-ssh/id", id))
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("sandbox")
            .withImage("img")
            .endContainer()
            .endSpec();
    if (secretName != null) {
      b.editMetadata()
          .withAnnotations(Map.of("sandbox-ssh/token-secret", secretName))
          .endMetadata();
    }
    return b.build();
  }

  private static Secret secret(String name, String id, String token) throws IOException {
    return new SecretBuilder()
        .withNewMetadata()
        .withName(name)
        .withLabels(Map.of("sandbox-ssh/id", id))
        .endMetadata()
        .addToData(
            "token", Base64.getEncoder().encodeToString(token.getBytes(StandardCharsets.UTF_8)))
        .build();
  }
}
