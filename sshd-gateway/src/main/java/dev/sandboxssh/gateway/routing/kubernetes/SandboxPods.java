package dev.sandboxssh.gateway.routing.kubernetes;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.store.Names;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Sandboxes as pods in one namespace, through the Kubernetes API: finding a sandbox's pod and its
 * agent's token, and creating and deleting the pod and its Secret. The gateway's only user of the
 * Kubernetes client; nothing here connects before the first call.
 *
 * <p>A sandbox {@code ID} is the one pod labelled {@code sandbox-ssh/id=ID}; its agent listens on
 * the pod's IP at the configured port, with the token under the key {@code token} of the Secret
 * that the pod's annotation {@code sandbox-ssh/token-secret} names.
 */
public final class SandboxPods implements AutoCloseable {
  /** The label that ties a pod, and its token Secret, to a sandbox id. */
  public static final String ID_LABEL = "sandbox-ssh/id";

  /** The pod annotation that names the Secret holding its agent's token. */
  public static final String TOKEN_SECRET_ANNOTATION = "sandbox-ssh/token-secret";

  /** The pod annotation recording the sandbox's owner, for people reading the cluster. */
  public static final String OWNER_ANNOTATION = "sandbox-ssh/owner";

  /** The key of the token in its Secret. */
  public static final String TOKEN_KEY = "token";

  /** Where a created pod's container finds the token Secret. */
  public static final String TOKEN_DIR = "/run/sandbox-ssh";

  private static final String MANAGED_BY = "app.kubernetes.io/managed-by";

  /** An IP literal, as the API reports a pod's IP: never a host name the gateway would resolve. */
  private static final Pattern IP =
      Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]{1,44}");

  /** A Secret's name: a DNS subdomain. */
  private static final Pattern OBJECT_NAME =
      Pattern.compile("[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?");

  private static final SecureRandom RANDOM = new SecureRandom();

  private final KubernetesClient client;
  private final GatewayConfig.Kubernetes config;

  private SandboxPods(KubernetesClient client, GatewayConfig.Kubernetes config) {
    this.client = client;
    this.config = config;
  }

  /**
   * A client for the cluster of {@code config} whose every API request gives up after {@code
   * timeout}, without retries: a login waits for it. It reads the kubeconfig but does not connect.
   *
   * @throws PodException API when the kubeconfig cannot be read
   */
  public static SandboxPods connect(GatewayConfig.Kubernetes config, Duration timeout)
      throws PodException {
    Config k8s;
    try {
      if (config.kubeconfig() != null) {
        // fabric8 would fall back to other sources for a missing file; a named one must exist.
        if (!Files.isReadable(config.kubeconfig())) {
          throw new PodException(
              PodException.Kind.API,
              "kubernetes.kubeconfig: cannot read " + config.kubeconfig(),
              null);
        }
        k8s = Config.fromKubeconfig(config.kubeconfig().toFile());
      } else {
        k8s = Config.autoConfigure(null);
      }
    } catch (KubernetesClientException e) {
      throw new PodException(
          PodException.Kind.API, "kubernetes: cannot use the kubeconfig: " + e.getMessage(), e);
    }
    int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    k8s.setConnectionTimeout(millis);
    k8s.setRequestTimeout(millis);
    k8s.setRequestRetryBackoffLimit(0);
    return new SandboxPods(new KubernetesClientBuilder().withConfig(k8s).build(), config);
  }

  /** Where a sandbox's agent listens and the token it wants. */
  public record Agent(String podName, String endpoint, String token) {
    /** Never print the token. */
    @Override
    public String toString() {
      return "Agent[pod=" + podName + ", endpoint=" + endpoint + "]";
    }
  }

  /** The namespace of the sandboxes' pods. */
  public String namespace() {
    return config.namespace();
  }

  /** The name {@link #create} gives the pod of sandbox {@code id}. */
  public static String podName(String id) {
    return "sandbox-" + id;
  }

  /** The name {@link #create} gives the token Secret of sandbox {@code id}. */
  public static String secretName(String id) {
    return "sandbox-" + id + "-token";
  }

  /**
   * Finds the running pod of sandbox {@code id} and its agent's endpoint and token.
   *
   * @throws PodException NOT_RUNNING, REFUSED or API, with the cause in one line
   */
  public Agent locate(String id) throws PodException {
    List<Pod> pods;
    try {
      pods =
          client.pods().inNamespace(config.namespace()).withLabel(ID_LABEL, id).list().getItems();
    } catch (KubernetesClientException e) {
      throw apiFailure("listing pods", e);
    }
    // A pod being deleted (replaced, evicted) is gone for sessions; its successor may be there.
    List<Pod> live =
        pods.stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    if (live.isEmpty()) {
      throw new PodException(
          PodException.Kind.NOT_RUNNING,
          pods.isEmpty()
              ? "no pod labelled " + ID_LABEL + "=" + id + " in namespace " + config.namespace()
              : "its pod " + pods.get(0).getMetadata().getName() + " is being deleted",
          null);
    }
    if (live.size() > 1) {
      // Two agents claiming one sandbox: picking either could hand a session to the wrong one.
      throw new PodException(
          PodException.Kind.REFUSED,
          live.size()
              + " pods are labelled "
              + ID_LABEL
              + "="
              + id
              + " ("
              + String.join(
                  ", ", live.stream().map(p -> p.getMetadata().getName()).sorted().toList())
              + "); the gateway uses none of them",
          null);
    }
    Pod pod = live.get(0);
    String name = pod.getMetadata().getName();
    checkRunning(name, pod.getStatus());
    String ip = pod.getStatus().getPodIP();
    if (ip == null || ip.isEmpty()) {
      throw new PodException(PodException.Kind.NOT_RUNNING, "its pod " + name + " has no IP", null);
    }
    String endpoint = (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + config.agentPort();
    if (!IP.matcher(ip).matches() || !Names.isEndpoint(endpoint)) {
      throw new PodException(
          PodException.Kind.REFUSED, "its pod " + name + " reports a bad IP '" + ip + "'", null);
    }
    return new Agent(name, endpoint, token(id, pod));
  }

  private static void checkRunning(String name, PodStatus status) throws PodException {
    String phase = status == null ? null : status.getPhase();
    if (!"Running".equals(phase)) {
      String reason = status == null ? null : status.getReason();
      throw new PodException(
          PodException.Kind.NOT_RUNNING,
          "its pod "
              + name
              + " is "
              + (phase == null ? "not scheduled yet" : phase)
              + (reason == null ? "" : " (" + reason + ")"),
          null);
    }
    // A Running pod whose container waits to be restarted (CrashLoopBackOff) has no agent to dial.
    for (ContainerStatus c : status.getContainerStatuses()) {
      if (c.getState() != null && c.getState().getWaiting() != null) {
        String reason = c.getState().getWaiting().getReason();
        throw new PodException(
            PodException.Kind.NOT_RUNNING,
            "its pod "
                + name
                + " has container "
                + c.getName()
                + " waiting"
                + (reason == null ? "" : " (" + reason + ")"),
            null);
      }
    }
  }

  /** The agent's token from the Secret the pod names, which must belong to the same sandbox. */
  private String token(String id, Pod pod) throws PodException {
    String podName = pod.getMetadata().getName();
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    String secretName = annotations == null ? null : annotations.get(TOKEN_SECRET_ANNOTATION);
    if (secretName == null || !OBJECT_NAME.matcher(secretName).matches()) {
      throw new PodException(
          PodException.Kind.REFUSED,
          "its pod "
              + podName
              + " names no token Secret (annotation "
              + TOKEN_SECRET_ANNOTATION
              + ")",
          null);
    }
    Secret secret;
    try {
      secret = client.secrets().inNamespace(config.namespace()).withName(secretName).get();
    } catch (KubernetesClientException e) {
      throw apiFailure("reading Secret " + secretName, e);
    }
    if (secret == null) {
      throw new PodException(
          PodException.Kind.REFUSED, "its token Secret " + secretName + " does not exist", null);
    }
    // Threat: anyone who may create pods could annotate one with another sandbox's Secret, and
    // the gateway would then send that sandbox's token to their pod. The Secret must say whose it
    // is.
    Map<String, String> labels = secret.getMetadata().getLabels();
    if (labels == null || !id.equals(labels.get(ID_LABEL))) {
      throw new PodException(
          PodException.Kind.REFUSED,
          "Secret " + secretName + " is not labelled " + ID_LABEL + "=" + id,
          null);
    }
    String encoded = secret.getData() == null ? null : secret.getData().get(TOKEN_KEY);
    String token = null;
    if (encoded != null) {
      try {
        token = new String(Base64.getDecoder().decode(encoded.strip()), StandardCharsets.UTF_8);
        token = token.strip();
      } catch (IllegalArgumentException e) {
        token = null;
      }
    }
    if (!Names.isToken(token)) {
      throw new PodException(
          PodException.Kind.REFUSED,
          "Secret " + secretName + " holds no usable token under the key " + TOKEN_KEY,
          null);
    }
    return token;
  }

  /**
   * Creates sandbox {@code id}: its token Secret, then its pod running {@code image} with the agent
   * as its command. Returns the pod's name.
   *
   * @throws PodException CONFLICT when either already exists (nothing is left behind), API
   *     otherwise
   */
  public String create(String id, String owner, String image) throws PodException {
    String token = newToken();
    Secret secret =
        new SecretBuilder()
            .withNewMetadata()
            .withName(secretName(id))
            .withNamespace(config.namespace())
            .withLabels(labels(id))
            .endMetadata()
            .withType("Opaque")
            // The agent reads its token once, at start: a changed one would lock the gateway out.
            .withImmutable(true)
            .addToData(
                TOKEN_KEY,
                Base64.getEncoder().encodeToString(token.getBytes(StandardCharsets.UTF_8)))
            .build();
    try {
      client.secrets().inNamespace(config.namespace()).resource(secret).create();
    } catch (KubernetesClientException e) {
      throw createFailure("Secret " + secretName(id), e);
    }
    try {
      client.pods().inNamespace(config.namespace()).resource(pod(id, owner, image)).create();
    } catch (KubernetesClientException e) {
      try {
        client.secrets().inNamespace(config.namespace()).withName(secretName(id)).delete();
      } catch (KubernetesClientException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw createFailure("pod " + podName(id), e);
    }
    return podName(id);
  }

  /** The pod {@link #create} makes for sandbox {@code id}. */
  Pod pod(String id, String owner, String image) {
    List<String> command = new ArrayList<>(config.agentCommand());
    command.addAll(
        List.of(
            "--listen",
            "0.0.0.0:" + config.agentPort(),
            "--token-file",
            TOKEN_DIR + "/" + TOKEN_KEY));
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put(TOKEN_SECRET_ANNOTATION, secretName(id));
    annotations.put(OWNER_ANNOTATION, owner);
    return new PodBuilder()
        .withNewMetadata()
        .withName(podName(id))
        .withNamespace(config.namespace())
        .withLabels(labels(id))
        .withAnnotations(annotations)
        .endMetadata()
        .withNewSpec()
        // A sandbox gets no credentials for the cluster's API, and no addresses of its services.
        .withAutomountServiceAccountToken(false)
        .withEnableServiceLinks(false)
        .addNewContainer()
        .withName("sandbox")
        .withImage(image)
        .withCommand(command)
        .addNewPort()
        .withName("agent")
        .withContainerPort(config.agentPort())
        .withProtocol("TCP")
        .endPort()
        .addNewVolumeMount()
        .withName("agent-token")
        .withMountPath(TOKEN_DIR)
        .withReadOnly(true)
        .endVolumeMount()
        .withNewSecurityContext()
        .withAllowPrivilegeEscalation(false)
        .endSecurityContext()
        .endContainer()
        .addNewVolume()
        .withName("agent-token")
        .withNewSecret()
        .withSecretName(secretName(id))
        // Readable by whichever user the image runs as: the sandbox's processes are the agent's
        // own children, as that same user, so a narrower mode would keep nothing from them.
        .withDefaultMode(0444)
        .endSecret()
        .endVolume()
        .endSpec()
        .build();
  }

  /**
   * Deletes every pod and Secret labelled for sandbox {@code id}; returns how many there were.
   *
   * @throws PodException API when the API refuses or cannot be reached
   */
  public int delete(String id) throws PodException {
    try {
      int pods =
          client.pods().inNamespace(config.namespace()).withLabel(ID_LABEL, id).delete().size();
      int secrets =
          client.secrets().inNamespace(config.namespace()).withLabel(ID_LABEL, id).delete().size();
      return pods + secrets;
    } catch (KubernetesClientException e) {
      throw apiFailure("deleting the pod and Secret of " + id, e);
    }
  }

  private static Map<String, String> labels(String id) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(ID_LABEL, id);
    labels.put(MANAGED_BY, "sandbox-ssh");
    return labels;
  }

  private static String newToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private PodException createFailure(String what, KubernetesClientException e) {
    if (e.getCode() == 409) {
      return new PodException(
          PodException.Kind.CONFLICT,
          what
              + " already exists in namespace "
              + config.namespace()
              + " (left from a deleted sandbox?); delete it or pick another id",
          e);
    }
    return apiFailure("creating " + what, e);
  }

  /**
   * The HTTP status or the network failure, in one line; the API's own message (which names the
   * gateway's service account and the namespace) stays in the cause, for the gateway's log.
   */
  private static PodException apiFailure(String doing, KubernetesClientException e) {
    String cause;
    if (e.getCode() > 0) {
      String reason = e.getStatus() == null ? null : e.getStatus().getReason();
      cause =
          "the Kubernetes API refused "
              + doing
              + " (HTTP "
              + e.getCode()
              + (reason == null || reason.isEmpty() ? "" : " " + reason)
              + ")";
    } else {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String m = root.getMessage();
      cause =
          "cannot reach the Kubernetes API ("
              + root.getClass().getSimpleName()
              + (m == null ? "" : ": " + m.replaceAll("\\s+", " "))
              + ")";
    }
    return new PodException(PodException.Kind.API, cause, e);
  }

  /** Closes the client. */
  @Override
  public void close() {
    client.close();
  }
}
