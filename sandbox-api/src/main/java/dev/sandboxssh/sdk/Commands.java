package dev.sandboxssh.sdk;

/** Runs, lists and kills commands in one sandbox (E2B: {@code sandbox.commands}). */
public final class Commands {
  private final AgentStubs stubs;

  Commands(AgentStubs stubs) {
    this.stubs = stubs;
  }
}
