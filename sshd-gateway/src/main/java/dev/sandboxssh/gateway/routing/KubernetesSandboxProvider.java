package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.routing.kubernetes.PodException;
import dev.sandboxssh.gateway.routing.kubernetes.SandboxPods;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.Sandbox;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandboxes that are pods: each login asks the Kubernetes API for the sandbox's pod (it may have
 * been replaced, with a new IP) and dials its agent. The agent client of a sandbox is shared by its
 * sessions while the pod's endpoint and token stay the same, and closed once they change.
 */
public final class KubernetesSandboxProvider implements SandboxProvider {
  private static final Logger log = LoggerFactory.getLogger(KubernetesSandboxProvider.class);

  private record Connected(String endpoint, String token, Sandbox client) {
    boolean reaches(SandboxPods.Agent agent) {
      return endpoint.equals(agent.endpoint()) && token.equals(agent.token());
    }
  }

  private final SandboxPods pods;
  private final Duration connectTimeout;
  private final Map<String, Connected> clients = new ConcurrentHashMap<>();

  /** Finds pods through {@code pods} and waits at most {@code connectTimeout} for each agent. */
  public KubernetesSandboxProvider(SandboxPods pods, Duration connectTimeout) {
    this.pods = pods;
    this.connectTimeout = connectTimeout;
  }

  @Override
  public SandboxLease acquire(SandboxRecord sandbox) throws SandboxUnreachableException {
    String id = sandbox.id();
    SandboxPods.Agent agent;
    try {
      agent = pods.locate(id);
    } catch (PodException e) {
      // A pod that is gone or stopped took its agent along; an API failure says nothing of it,
      // and the sessions on its client go on.
      if (e.kind() == PodException.Kind.NOT_RUNNING) {
        forget(id);
      } else if (e.kind() == PodException.Kind.API && e.getCause() != null) {
        log.warn("sandbox {}: {}: {}", id, e.getMessage(), e.getCause().toString());
      }
      throw new SandboxUnreachableException(
          e.kind() == PodException.Kind.NOT_RUNNING
              ? "sandbox " + id + " is not running: " + e.getMessage()
              : "sandbox " + id + ": " + e.getMessage(),
          e);
    }
    Sandbox client =
        clients
            .compute(
                id,
                (key, old) -> {
                  if (old != null && old.reaches(agent)) {
                    return old;
                  }
                  // A new pod (or agent) replaced the old one, whose sessions are gone with it.
                  if (old != null) {
                    old.client().close();
                  }
                  return new Connected(
                      agent.endpoint(),
                      agent.token(),
                      Sandbox.connect(agent.endpoint(), agent.token()));
                })
            .client();
    AgentProbe.check(id, client, connectTimeout);
    return SandboxLease.shared(id, client);
  }

  /**
   * Agents of running pods that this gateway holds a client for: the pods it reached since they
   * last started and has not seen stop. Each replica counts its own.
   */
  public int connectedAgents() {
    return clients.size();
  }

  private void forget(String id) {
    Connected gone = clients.remove(id);
    if (gone != null) {
      gone.client().close();
    }
  }

  /** Closes every agent client and the Kubernetes client. */
  @Override
  public void close() {
    clients.values().forEach(c -> c.client().close());
    clients.clear();
    pods.close();
  }
}
