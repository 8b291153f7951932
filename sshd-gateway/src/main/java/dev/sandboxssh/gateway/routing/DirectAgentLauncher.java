package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Starts agents as plain child processes: their filesystem API is confined to the sandbox directory
 * ({@code --root}), but their processes see the whole host. The fallback where bubblewrap is
 * missing; the gateway warns about it at start.
 */
public final class DirectAgentLauncher implements AgentLauncher {
  private final AgentCommand command;

  /** Runs agents with {@code javaCommand}, or this JVM's java when null. */
  public DirectAgentLauncher(String javaCommand) {
    this.command = new AgentCommand(javaCommand);
  }

  @Override
  public Process launch(LocalAgentSpec spec) throws IOException {
    Path tmp = spec.runDir().resolve("tmp");
    Files.createDirectories(tmp);
    List<String> cmd =
        command.build(tmp, spec.socket(), spec.tokenFile(), spec.sandboxDir(), spec.sandboxDir());
    ProcessBuilder builder = new ProcessBuilder(cmd).directory(spec.sandboxDir().toFile());
    // The agent builds its processes' environment itself; pass it nothing of the gateway's.
    builder.environment().keySet().retainAll(List.of("PATH", "LANG", "TZ"));
    builder.environment().put("HOME", spec.sandboxDir().toString());
    return builder.start();
  }

  @Override
  public boolean confined() {
    return false;
  }

  @Override
  public String describe() {
    return "unconfined (bubblewrap not used): sandbox processes can read the host";
  }
}
