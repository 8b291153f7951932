package dev.sandboxssh.gateway.bridge;

import java.util.List;

/**
 * Which environment names a client may set ({@code env} requests, {@code SendEnv}, {@code SetEnv}),
 * as sshd's AcceptEnv. Deny by default. Threat: names like LD_PRELOAD, PATH or BASH_ENV would let a
 * client run code where the gateway starts the shell.
 */
public final class EnvPolicy {
  private final List<String> patterns;
  private final int maxValueBytes;

  /**
   * Allows names matching one of {@code patterns} (a name, or a prefix ending in {@code *}).
   *
   * @param maxValueBytes longer values are refused
   */
  public EnvPolicy(List<String> patterns, int maxValueBytes) {
    this.patterns = List.copyOf(patterns);
    this.maxValueBytes = maxValueBytes;
  }

  /** Whether {@code name=value} may reach the started process. */
  public boolean allows(String name, String value) {
    if (name == null || value == null || value.length() > maxValueBytes) {
      return false;
    }
    if (value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > maxValueBytes
        || value.indexOf('\0') >= 0) {
      return false;
    }
    for (String pattern : patterns) {
      if (pattern.endsWith("*")
          ? name.startsWith(pattern.substring(0, pattern.length() - 1))
          : name.equals(pattern)) {
        return true;
      }
    }
    return false;
  }
}
