package dev.sandboxssh.agent.fs;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.api.v1.FilesystemServiceGrpc;

/** Serves the fs rpcs of one sandbox. */
public final class FilesystemServiceImpl extends FilesystemServiceGrpc.FilesystemServiceImplBase {
  private final AgentConfig config;

  /** Serves the sandbox that {@code config} describes. */
  public FilesystemServiceImpl(AgentConfig config) {
    this.config = config;
  }
}
