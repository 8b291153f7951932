package dev.sandboxssh.gateway.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The host's mount table, where the gateway's binds for idmapped homes show. */
final class HostMounts {
  private HostMounts() {}

  /** The host's mount points at or under {@code root}, as real paths. */
  static List<String> under(Path root) throws IOException {
    String at = root.toRealPath().toString();
    // Field 5 of each line; the tests' paths hold nothing mountinfo escapes.
    return Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8).stream()
        .map(line -> line.split(" ")[4])
        .filter(m -> m.equals(at) || m.startsWith(at + "/"))
        .toList();
  }
}
