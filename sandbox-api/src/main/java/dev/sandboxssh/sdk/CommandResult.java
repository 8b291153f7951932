package dev.sandboxssh.sdk;

/**
 * How a command ended.
 *
 * @param exitCode its exit status 0..255, or null when a signal killed it
 * @param signal the signal that killed it ("TERM", "KILL"...), or null
 * @param stdout collected output, when no {@code onStdout} callback was given
 * @param stderr collected error output, when no {@code onStderr} callback was given
 * @param error why the agent ended it ("timeout after 60000 ms"), or null
 */
public record CommandResult(
    Integer exitCode, String signal, String stdout, String stderr, String error) {

  /** The exit status, or {@code fallback} when a signal killed the process. */
  public int exitCodeOr(int fallback) {
    return exitCode == null ? fallback : exitCode;
  }
}
