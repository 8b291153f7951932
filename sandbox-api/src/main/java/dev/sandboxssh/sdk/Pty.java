package dev.sandboxssh.sdk;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Interactive terminals in one sandbox (E2B: {@code sandbox.pty}). */
public final class Pty {
  /** E2B's default lifetime of a terminal; {@link Duration#ZERO} means unlimited. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  private final Commands commands;

  Pty(AgentStubs stubs) {
    this.commands = new Commands(stubs);
  }

  /** Opens a login shell on a {@code cols} x {@code rows} terminal that lives 60 s. */
  public CommandHandle create(int cols, int rows, Consumer<byte[]> onData) {
    return create(cols, rows, onData, DEFAULT_TIMEOUT);
  }

  /** Opens a login shell on a terminal; {@code timeout} zero keeps it open indefinitely. */
  public CommandHandle create(int cols, int rows, Consumer<byte[]> onData, Duration timeout) {
    return commands.start(
        List.of("/bin/bash", "-l", "-i"),
        CommandOptions.create()
            .pty(cols, rows, "xterm-256color", Map.of())
            .onStdout(onData)
            .timeout(timeout));
  }

  /** Sends keystrokes to a terminal. */
  public void sendInput(int pid, byte[] data) {
    commands.sendStdin(pid, data);
  }

  /** Resizes a terminal. */
  public void resize(int pid, int cols, int rows) {
    commands.resize(pid, cols, rows);
  }

  /** Kills a terminal's process group; false when there is none. */
  public boolean kill(int pid) {
    return commands.kill(pid);
  }

  /** Re-attaches to a terminal: {@code onData} first gets its recent output. */
  public CommandHandle connect(int pid, Consumer<byte[]> onData) {
    return commands.connect(pid, CommandOptions.create().onStdout(onData));
  }
}
