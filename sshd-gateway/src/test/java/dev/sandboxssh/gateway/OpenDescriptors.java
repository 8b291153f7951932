package dev.sandboxssh.gateway;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What this JVM's descriptors point at: where a test sees that the gateway holds a file itself. */
public final class OpenDescriptors {
  private OpenDescriptors() {}

  /** The targets of /proc/self/fd ("pipe:[N]", a file's path, ...). */
  public static List<String> ofThisProcess() throws IOException {
    List<String> targets = new ArrayList<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      for (Path fd : fds) {
        try {
          targets.add(Files.readSymbolicLink(fd).toString());
        } catch (IOException e) {
          // Closed while listing.
        }
      }
    }
    return targets;
  }
}
