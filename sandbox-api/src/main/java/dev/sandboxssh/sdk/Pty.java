package dev.sandboxssh.sdk;

/** Interactive terminals in one sandbox (E2B: {@code sandbox.pty}). */
public final class Pty {
  private final AgentStubs stubs;

  Pty(AgentStubs stubs) {
    this.stubs = stubs;
  }
}
