package dev.sandboxssh.gateway.routing.kubernetes;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.function.UnaryOperator;

/**
 * fabric8's mock API server in CRUD mode on loopback, standing in for a cluster: pods and Secrets
 * are stored and listed by label, but nothing runs them, so the test plays the kubelet and sets a
 * pod's phase and IP itself.
 */
public final class MockCluster implements AutoCloseable {
  private final KubernetesMockServer server;
  private final NamespacedKubernetesClient client;
  private final String namespace;

  /** Starts an empty cluster whose sandboxes live in {@code namespace}. */
  public MockCluster(String namespace) {
    this.namespace = namespace;
    this.server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(),
            false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    this.client = server.createClient();
  }

  /** A client with full access, for the test's own reads and writes. */
  public NamespacedKubernetesClient client() {
    return client;
  }

  /** The API server's URL. */
  public String url() {
    return "http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getPort();
  }

  /** Writes a kubeconfig file that points at this cluster, as an operator's would. */
  public Path writeKubeconfig(Path file) throws IOException {
    return writeKubeconfig(file, url());
  }

  /** Writes a kubeconfig file that points at {@code url}. */
  public static Path writeKubeconfig(Path file, String url) throws IOException {
    Files.writeString(
        file,
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mock
          cluster: {server: "%s"}
        users:
        - name: gateway
          user: {token: not-checked-by-the-mock}
        contexts:
        - name: mock
          context: {cluster: mock, user: gateway}
        current-context: mock
        """
            .formatted(url),
        StandardCharsets.UTF_8);
    return file;
  }

  /** The pod named {@code name}, or null. */
  public Pod pod(String name) {
    return client.pods().inNamespace(namespace).withName(name).get();
  }

  /** The Secret named {@code name}, or null. */
  public Secret secret(String name) {
    return client.secrets().inNamespace(namespace).withName(name).get();
  }

  /** The decoded value of {@code key} in Secret {@code name}. */
  public String secretValue(String name, String key) {
    return new String(
        Base64.getDecoder().decode(secret(name).getData().get(key)), StandardCharsets.UTF_8);
  }

  /** Stores {@code pod} in the sandboxes' namespace. */
  public Pod create(Pod pod) {
    return client.pods().inNamespace(namespace).resource(pod).create();
  }

  /** Stores {@code secret} in the sandboxes' namespace. */
  public Secret create(Secret secret) {
    return client.secrets().inNamespace(namespace).resource(secret).create();
  }

  /** Changes the status of pod {@code name}, as the kubelet would. */
  public void editStatus(String name, UnaryOperator<PodBuilder> change) {
    Pod pod = pod(name);
    Pod changed = change.apply(new PodBuilder(pod)).build();
    client.pods().inNamespace(namespace).resource(changed).updateStatus();
  }

  /** Marks pod {@code name} Running at {@code ip}. */
  public void markRunning(String name, String ip) {
    editStatus(name, p -> p.withNewStatus().withPhase("Running").withPodIP(ip).endStatus());
  }

  /** Marks pod {@code name} as in {@code phase} (with {@code reason}, which may be null). */
  public void markPhase(String name, String phase, String reason) {
    editStatus(name, p -> p.editOrNewStatus().withPhase(phase).withReason(reason).endStatus());
  }

  /** Forgets every stored object. */
  public void reset() {
    server.reset();
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }
}
