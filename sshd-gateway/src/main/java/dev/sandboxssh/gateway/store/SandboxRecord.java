package dev.sandboxssh.gateway.store;

import java.time.Instant;

/**
 * One sandbox as the ownership table holds it.
 *
 * @param id the SSH user name that reaches it: a DNS label
 * @param provider which {@code SandboxProvider} serves it
 * @param endpoint for a remote sandbox, its agent: {@code HOST:PORT} or {@code unix:PATH}; for an
 *     e2b one, its envd's URL; null for a local or kubernetes one
 * @param token for a remote sandbox, its agent's bearer token; for an e2b one, its envd access
 *     token; null for a local or kubernetes one
 */
public record SandboxRecord(
    String id,
    String owner,
    Provider provider,
    String endpoint,
    String token,
    State state,
    Instant created) {

  /** Where a sandbox's agent comes from. */
  public enum Provider {
    /** A directory under the data dir; the gateway starts its agent. */
    LOCAL,
    /** An agent some platform already runs; the row holds endpoint and token. */
    REMOTE,
    /**
     * A pod labelled {@code sandbox-ssh/id=ID}: its IP gives the endpoint and a Secret the token,
     * so the row holds neither.
     */
    KUBERNETES,
    /**
     * A sandbox reached through its envd, E2B's in-sandbox daemon (an E2B sandbox, or an agent's
     * envd face): the row holds the envd's URL and access token.
     */
    E2B
  }

  /** What the gateway last saw. */
  public enum State {
    CREATED,
    RUNNING,
    STOPPED,
    FAILED
  }

  /** Never print the token. */
  @Override
  public String toString() {
    return "SandboxRecord[id=%s, owner=%s, provider=%s, endpoint=%s, state=%s, created=%s]"
        .formatted(id, owner, provider, endpoint, state, created);
  }
}
