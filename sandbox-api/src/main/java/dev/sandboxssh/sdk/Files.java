package dev.sandboxssh.sdk;

/** The filesystem of one sandbox; failures are {@code java.nio.file} exceptions. */
public final class Files {
  private final AgentStubs stubs;

  Files(AgentStubs stubs) {
    this.stubs = stubs;
  }
}
