package dev.sandboxssh.agent;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What one agent serves, validated once at start.
 *
 * @param token the bearer token every call must present
 * @param root when set, every path of the filesystem API (and every unix socket path of the network
 *     API) must resolve inside this directory; paths keep their real names (it is not a chroot).
 *     Processes still see the real filesystem, unless the agent itself runs confined
 * @param home the sandbox user's home directory as the sandbox's processes see it: where processes
 *     start and relative paths resolve
 */
public record AgentConfig(String token, Path root, Path home) {

  /** Checks every field and names each bad one. */
  public AgentConfig {
    List<String> problems = new ArrayList<>();
    if (token == null || token.isBlank()) {
      problems.add("token: must not be empty");
    }
    if (root != null) {
      if (!root.isAbsolute()) {
        problems.add("root: must be an absolute path, got " + root);
      } else if (!Files.isDirectory(root)) {
        problems.add("root: not a directory: " + root);
      }
    }
    if (home == null || !home.isAbsolute()) {
      problems.add("home: must be an absolute path, got " + home);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid agent config: " + String.join("; ", problems));
    }
  }
}
