package dev.sandboxssh.agent.process;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;

/** Serves the process rpcs of one sandbox. */
public final class ProcessServiceImpl extends ProcessServiceGrpc.ProcessServiceImplBase {
  private final AgentConfig config;

  /** Serves the sandbox that {@code config} describes. */
  public ProcessServiceImpl(AgentConfig config) {
    this.config = config;
  }

  /** Kills every process this agent started; called when the agent stops. */
  public void shutdown() {}
}
