package dev.sandboxssh.sdk;

/** TCP and unix-socket tunnels from inside one sandbox. */
public final class Network {
  private final AgentStubs stubs;

  Network(AgentStubs stubs) {
    this.stubs = stubs;
  }
}
