package dev.sandboxssh.agent.net;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.api.v1.NetworkServiceGrpc;

/** Serves the net rpcs of one sandbox. */
public final class NetworkServiceImpl extends NetworkServiceGrpc.NetworkServiceImplBase {
  private final AgentConfig config;

  /** Serves the sandbox that {@code config} describes. */
  public NetworkServiceImpl(AgentConfig config) {
    this.config = config;
  }
}
