package dev.sandboxssh.gateway.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.ConfigLoader;
import dev.sandboxssh.gateway.config.GatewayConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The manifests of {@code deploy/kubernetes/} as fabric8 reads them, checked against each other:
 * what one names, another must define, and the gateway config in the ConfigMap must agree with the
 * pod that reads it.
 */
class KubernetesManifestsTest {
  private static final Path DIR = Path.of("..", "deploy", "kubernetes");

  private static KubernetesClient client;
  private static List<HasMetadata> objects;
  private static Map<String, Object> kustomization;

  @BeforeAll
  static void load() throws Exception {
    // Only parses: nothing here talks to a cluster.
    client = new KubernetesClientBuilder().withConfig(Config.empty()).build();
    kustomization = yaml(Files.readString(DIR.resolve("kustomization.yaml")));
    objects = new ArrayList<>();
    for (String file : resources()) {
      try (InputStream in = Files.newInputStream(DIR.resolve(file))) {
        objects.addAll(client.load(in).items());
      }
    }
  }

  @AfterAll
  static void close() {
    client.close();
  }

  @Test
  void kustomizationListsEveryManifestAndEveryObjectHasItsNamespace() throws Exception {
    List<String> files;
    try (Stream<Path> list = Files.list(DIR)) {
      files =
          list.map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml"))
              .sorted()
              .toList();
    }
    assertThat(resources()).containsExactlyInAnyOrderElementsOf(files);
    assertThat(objects).hasSizeGreaterThan(10);
    for (HasMetadata o : objects) {
      if (!(o instanceof Namespace)) {
        // Explicit namespaces: kubectl apply -f works on each file alone, too.
        assertThat(o.getMetadata().getNamespace()).as(describe(o)).isIn(namespaces());
      }
    }
  }

  @Test
  void severalGatewayReplicasWithOneHostKeyFromASecret() {
    Deployment d = gatewayDeployment();
    assertThat(d.getSpec().getReplicas()).isGreaterThanOrEqualTo(2);
    assertThat(labels(d.getSpec().getTemplate()))
        .containsAllEntriesOf(d.getSpec().getSelector().getMatchLabels());

    Map<String, Object> config = gatewayConfig();
    Container c = gatewayContainer();
    assertThat(c.getArgs())
        .containsSubsequence("--config", mountPathOf(configMapVolume(), c) + "/gateway.yaml");
    // The keys dir is the host key Secret, the same for every replica.
    Volume keys = volumeMountedAt(String.valueOf(config.get("keys-dir")));
    assertThat(keys.getSecret()).as("keys-dir is a Secret volume").isNotNull();
    assertThat(secretKeys(keys.getSecret().getSecretName())).contains("ssh_host_ed25519_key");
    assertThat(keys.getSecret().getDefaultMode()).isEqualTo(0400);
    // The data dir is writable scratch space.
    assertThat(volumeMountedAt(String.valueOf(config.get("data-dir"))).getEmptyDir()).isNotNull();
    assertThat(mountOf(keys, c).getReadOnly()).isTrue();
  }

  @Test
  void theConfigMapHoldsAGatewayConfig() {
    GatewayConfig c = ConfigLoader.parse(gatewayConfigText(), "config.yaml");
    assertThat(c.kubernetes().enabled()).isTrue();
    assertThat(c.metrics().port()).isPositive();
  }

  @Test
  void theDatabaseUrlIsInTheConfigAndItsPasswordAMountedSecret() {
    Map<String, Object> config = gatewayConfig();
    String url = String.valueOf(config.get("database-url"));
    assertThat(url).startsWith("jdbc:postgresql://").doesNotContain("password");
    Path passwordFile = Path.of(String.valueOf(config.get("database-password-file")));
    Volume v = volumeMountedAt(passwordFile.getParent().toString());
    assertThat(v.getSecret()).isNotNull();
    assertThat(secretKeys(v.getSecret().getSecretName()))
        .contains(passwordFile.getFileName().toString());

    // The URL's host is the PostgreSQL Service, which selects the StatefulSet that uses the same
    // password Secret.
    URI uri = URI.create(url.substring("jdbc:".length()));
    Service pg = one(Service.class, s -> uri.getHost().startsWith(s.getMetadata().getName() + "."));
    assertThat(uri.getHost())
        .isEqualTo(pg.getMetadata().getName() + "." + pg.getMetadata().getNamespace() + ".svc");
    assertThat(pg.getSpec().getPorts()).anyMatch(p -> p.getPort() == uri.getPort());
    StatefulSet db = one(StatefulSet.class, s -> true);
    assertThat(labels(db.getSpec().getTemplate())).containsAllEntriesOf(pg.getSpec().getSelector());
    assertThat(
            db.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(vol -> vol.getSecret() != null)
                .map(vol -> vol.getSecret().getSecretName()))
        .contains(v.getSecret().getSecretName());
    assertThat(
            portNumber(pg.getSpec().getPorts().get(0).getTargetPort(), db.getSpec().getTemplate()))
        .isEqualTo(uri.getPort());
  }

  @Test
  void theLoadBalancerSendsPort22ToTheGatewaysSshPort() {
    Service svc = one(Service.class, s -> "LoadBalancer".equals(s.getSpec().getType()));
    Deployment d = gatewayDeployment();
    assertThat(svc.getMetadata().getNamespace()).isEqualTo(d.getMetadata().getNamespace());
    assertThat(labels(d.getSpec().getTemplate())).containsAllEntriesOf(svc.getSpec().getSelector());
    assertThat(svc.getSpec().getPorts()).hasSize(1);
    assertThat(svc.getSpec().getPorts().get(0).getPort()).isEqualTo(22);
    int target =
        portNumber(svc.getSpec().getPorts().get(0).getTargetPort(), d.getSpec().getTemplate());
    assertThat(target).isEqualTo(gatewayConfig().get("port"));
    assertThat(gatewayConfig().get("host")).isEqualTo("0.0.0.0");
    // Client addresses reach the gateways (per-source penalties need them).
    assertThat(svc.getSpec().getExternalTrafficPolicy()).isEqualTo("Local");
  }

  @Test
  void probesAskTheMetricsPort() {
    Map<?, ?> metrics = (Map<?, ?>) gatewayConfig().get("metrics");
    int port = (Integer) metrics.get("port");
    Container c = gatewayContainer();
    PodTemplateSpec template = gatewayDeployment().getSpec().getTemplate();
    Probe readiness = c.getReadinessProbe();
    Probe liveness = c.getLivenessProbe();
    assertThat(readiness.getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(liveness.getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(portNumber(readiness.getHttpGet().getPort(), template)).isEqualTo(port);
    assertThat(portNumber(liveness.getHttpGet().getPort(), template)).isEqualTo(port);
    // The kubelet probes the pod's IP: a metrics server on loopback (the default) fails them.
    GatewayConfig config = ConfigLoader.parse(gatewayConfigText(), "config.yaml");
    assertThat(config.metrics().host()).as("metrics.host").isNotIn("127.0.0.1", "localhost", "::1");
  }

  @Test
  void theGatewaysMayOnlyTouchPodsAndSecretsOfTheSandboxesNamespace() {
    assertThat(objects).noneMatch(o -> o instanceof ClusterRole || o instanceof ClusterRoleBinding);
    Map<?, ?> k8s = (Map<?, ?>) gatewayConfig().get("kubernetes");
    assertThat(k8s.get("enabled")).isEqualTo(true);
    String sandboxes = String.valueOf(k8s.get("namespace"));
    assertThat(namespaces()).contains(sandboxes);

    ServiceAccount sa = one(ServiceAccount.class, s -> true);
    Deployment d = gatewayDeployment();
    assertThat(d.getSpec().getTemplate().getSpec().getServiceAccountName())
        .isEqualTo(sa.getMetadata().getName());
    assertThat(sa.getMetadata().getNamespace()).isEqualTo(d.getMetadata().getNamespace());

    Role role = one(Role.class, r -> true);
    assertThat(role.getMetadata().getNamespace()).isEqualTo(sandboxes);
    Set<String> resources = new TreeSet<>();
    for (PolicyRule rule : role.getRules()) {
      assertThat(rule.getApiGroups()).containsExactly("");
      assertThat(rule.getVerbs()).doesNotContain("*", "update", "patch", "escalate", "bind");
      assertThat(rule.getResources()).doesNotContain("*");
      resources.addAll(rule.getResources());
    }
    assertThat(resources).containsExactly("pods", "secrets");

    RoleBinding binding = one(RoleBinding.class, b -> true);
    assertThat(binding.getMetadata().getNamespace()).isEqualTo(sandboxes);
    assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
    assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
    assertThat(binding.getSubjects()).hasSize(1);
    assertThat(binding.getSubjects().get(0).getKind()).isEqualTo("ServiceAccount");
    assertThat(binding.getSubjects().get(0).getName()).isEqualTo(sa.getMetadata().getName());
    assertThat(binding.getSubjects().get(0).getNamespace())
        .isEqualTo(sa.getMetadata().getNamespace());
  }

  @Test
  void sandboxPodsAcceptOnlyTheGatewaysOnTheAgentPort() {
    Map<?, ?> k8s = (Map<?, ?>) gatewayConfig().get("kubernetes");
    NetworkPolicy np =
        one(
            NetworkPolicy.class,
            p -> p.getMetadata().getNamespace().equals(String.valueOf(k8s.get("namespace"))));
    assertThat(np.getSpec().getPodSelector().getMatchLabels()).isNullOrEmpty();
    assertThat(np.getSpec().getPolicyTypes()).containsExactly("Ingress");
    assertThat(np.getSpec().getIngress()).hasSize(1);
    var rule = np.getSpec().getIngress().get(0);
    assertThat(rule.getPorts()).hasSize(1);
    assertThat(rule.getPorts().get(0).getPort().getIntVal()).isEqualTo(k8s.get("agent-port"));
    assertThat(rule.getFrom()).hasSize(1);
    NetworkPolicyPeer from = rule.getFrom().get(0);
    Deployment d = gatewayDeployment();
    assertThat(from.getNamespaceSelector().getMatchLabels())
        .containsExactly(Map.entry("kubernetes.io/metadata.name", d.getMetadata().getNamespace()));
    assertThat(labels(d.getSpec().getTemplate()))
        .containsAllEntriesOf(from.getPodSelector().getMatchLabels());
  }

  @Test
  void everySecretAndConfigMapNamedExists() {
    Set<String> configMaps = new TreeSet<>();
    objects.stream().filter(o -> o instanceof ConfigMap).forEach(o -> configMaps.add(key(o)));
    List<String> missing = new ArrayList<>();
    for (HasMetadata o : objects) {
      PodTemplateSpec template =
          o instanceof Deployment d
              ? d.getSpec().getTemplate()
              : o instanceof StatefulSet s ? s.getSpec().getTemplate() : null;
      if (template == null) {
        continue;
      }
      String ns = o.getMetadata().getNamespace();
      for (Volume v : template.getSpec().getVolumes()) {
        if (v.getSecret() != null && secretKeys(ns, v.getSecret().getSecretName()) == null) {
          missing.add(describe(o) + ": Secret " + v.getSecret().getSecretName());
        }
        if (v.getConfigMap() != null
            && !configMaps.contains(ns + "/" + v.getConfigMap().getName())) {
          missing.add(describe(o) + ": ConfigMap " + v.getConfigMap().getName());
        }
      }
      for (Container c : template.getSpec().getContainers()) {
        for (VolumeMount m : c.getVolumeMounts()) {
          if (template.getSpec().getVolumes().stream()
                  .noneMatch(v -> v.getName().equals(m.getName()))
              && !(o instanceof StatefulSet s
                  && s.getSpec().getVolumeClaimTemplates().stream()
                      .anyMatch(t -> t.getMetadata().getName().equals(m.getName())))) {
            missing.add(describe(o) + ": volume " + m.getName());
          }
        }
      }
    }
    assertThat(missing).isEmpty();
    // The disruption budget keeps replicas of the gateway, not of something else.
    PodDisruptionBudget pdb = one(PodDisruptionBudget.class, p -> true);
    assertThat(labels(gatewayDeployment().getSpec().getTemplate()))
        .containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
  }

  // ---------------------------------------------------------------- helpers

  @SuppressWarnings("unchecked")
  private static List<String> resources() {
    return (List<String>) kustomization.get("resources");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(String text) {
    return (Map<String, Object>) new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
  }

  private static Set<String> namespaces() {
    Set<String> names = new TreeSet<>();
    objects.stream()
        .filter(o -> o instanceof Namespace)
        .forEach(o -> names.add(o.getMetadata().getName()));
    return names;
  }

  private static <T extends HasMetadata> T one(
      Class<T> type, java.util.function.Predicate<T> filter) {
    List<T> found =
        objects.stream().filter(type::isInstance).map(type::cast).filter(filter).toList();
    assertThat(found).as(type.getSimpleName()).hasSize(1);
    return found.get(0);
  }

  private static Deployment gatewayDeployment() {
    return one(Deployment.class, d -> true);
  }

  private static Container gatewayContainer() {
    List<Container> containers =
        gatewayDeployment().getSpec().getTemplate().getSpec().getContainers();
    assertThat(containers).hasSize(1);
    return containers.get(0);
  }

  /** The gateway config the Deployment mounts, parsed as YAML. */
  private static Map<String, Object> gatewayConfig() {
    return yaml(gatewayConfigText());
  }

  private static String gatewayConfigText() {
    ConfigMap cm =
        one(
            ConfigMap.class,
            m -> m.getMetadata().getName().equals(configMapVolume().getConfigMap().getName()));
    return cm.getData().get("gateway.yaml");
  }

  private static Volume configMapVolume() {
    List<Volume> found =
        gatewayDeployment().getSpec().getTemplate().getSpec().getVolumes().stream()
            .filter(v -> v.getConfigMap() != null)
            .toList();
    assertThat(found).hasSize(1);
    return found.get(0);
  }

  private static Volume volumeMountedAt(String path) {
    Container c = gatewayContainer();
    List<String> names =
        c.getVolumeMounts().stream()
            .filter(m -> m.getMountPath().equals(path))
            .map(VolumeMount::getName)
            .toList();
    assertThat(names).as("volumes mounted at " + path).hasSize(1);
    return gatewayDeployment().getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getName().equals(names.get(0)))
        .findFirst()
        .orElseThrow();
  }

  private static VolumeMount mountOf(Volume v, Container c) {
    return c.getVolumeMounts().stream()
        .filter(m -> m.getName().equals(v.getName()))
        .findFirst()
        .orElseThrow();
  }

  private static String mountPathOf(Volume v, Container c) {
    return mountOf(v, c).getMountPath();
  }

  /** The keys of Secret {@code name} in the gateway's namespace. */
  private static Set<String> secretKeys(String name) {
    Set<String> keys = secretKeys(gatewayDeployment().getMetadata().getNamespace(), name);
    assertThat(keys).as("Secret " + name).isNotNull();
    return keys;
  }

  /** The keys of a Secret that a manifest or the kustomization's secretGenerator makes, or null. */
  @SuppressWarnings("unchecked")
  private static Set<String> secretKeys(String namespace, String name) {
    Map<String, Set<String>> secrets = new HashMap<>();
    for (HasMetadata o : objects) {
      if (o instanceof Secret s) {
        Set<String> keys = new TreeSet<>();
        if (s.getData() != null) {
          keys.addAll(s.getData().keySet());
        }
        if (s.getStringData() != null) {
          keys.addAll(s.getStringData().keySet());
        }
        secrets.put(key(o), keys);
      }
    }
    for (Map<String, Object> g :
        (List<Map<String, Object>>) kustomization.getOrDefault("secretGenerator", List.of())) {
      Set<String> keys = new TreeSet<>();
      for (String file : (List<String>) g.getOrDefault("files", List.of())) {
        keys.add(
            file.contains("=")
                ? file.substring(0, file.indexOf('='))
                : Path.of(file).getFileName().toString());
      }
      secrets.put(g.get("namespace") + "/" + g.get("name"), keys);
    }
    return secrets.get(namespace + "/" + name);
  }

  private static Map<String, String> labels(PodTemplateSpec template) {
    return template.getMetadata().getLabels();
  }

  /** A port by number, or by the name of a container port of {@code template}. */
  private static int portNumber(IntOrString port, PodTemplateSpec template) {
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    PodSpec spec = template.getSpec();
    List<Integer> found =
        spec.getContainers().stream()
            .flatMap(c -> c.getPorts().stream())
            .filter(p -> port.getStrVal().equals(p.getName()))
            .map(ContainerPort::getContainerPort)
            .toList();
    assertThat(found).as("container port " + port.getStrVal()).hasSize(1);
    return found.get(0);
  }

  private static String key(HasMetadata o) {
    return o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
  }

  private static String describe(HasMetadata o) {
    return o.getKind() + " " + key(o);
  }
}
