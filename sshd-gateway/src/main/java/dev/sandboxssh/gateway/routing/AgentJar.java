package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The agent's own jar, which the packaged gateway carries inside its jar, unpacked once into the
 * data dir for agents to run from.
 *
 * <p>Why not the gateway's jar: a JVM keeps its classpath jars' central directories on its heap.
 * The gateway's has some 34,000 entries (the Kubernetes client, BouncyCastle, the stores), 3.8 MB
 * of heap in every agent; the agent's own has a third as many.
 */
final class AgentJar {
  /** Where the gateway's jar carries it (the build copies the sandbox-agent module's jar there). */
  static final String ENTRY = "META-INF/sandbox-ssh/sandbox-agent.jar";

  private static final String PREFIX = "sandbox-agent-";

  private AgentJar() {}

  /**
   * The classpath agents run on: the agent jar unpacked under {@code dir} when the gateway runs
   * from a single jar that carries one, else {@code gatewayClasspath} itself (a gateway on class
   * directories, as in an IDE).
   */
  static List<String> classpath(List<String> gatewayClasspath, Path dir) throws IOException {
    if (gatewayClasspath.size() != 1 || !gatewayClasspath.get(0).endsWith(".jar")) {
      return gatewayClasspath;
    }
    try (JarFile gateway = new JarFile(gatewayClasspath.get(0))) {
      JarEntry entry = gateway.getJarEntry(ENTRY);
      if (entry == null) {
        return gatewayClasspath;
      }
      // Named after its content, so that a restart finds the same file, unchanged: an agent
      // start-up cache made for it stays valid only while its size and time stay the same.
      Path jar =
          dir.resolve(PREFIX + Long.toHexString(entry.getCrc()) + "-" + entry.getSize() + ".jar");
      if (!Files.isRegularFile(jar) || Files.size(jar) != entry.getSize()) {
        Files.createDirectories(dir);
        Path part = Files.createTempFile(dir, PREFIX, ".part");
        try (InputStream in = gateway.getInputStream(entry)) {
          Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
          // The build's time, not the unpacking's: every gateway of this build, whatever its data
          // dir, then has the same file for the agent start-up cache's key (AgentStartupCache).
          if (entry.getTime() >= 0) {
            Files.setLastModifiedTime(part, FileTime.fromMillis(entry.getTime()));
          }
          // Read-only, and readable by an unconfined agent's user as by the gateway's.
          Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("r--r--r--"));
          Files.move(part, jar, StandardCopyOption.ATOMIC_MOVE);
        } finally {
          Files.deleteIfExists(part);
        }
      }
      removeOthers(dir, jar);
      return List.of(jar.toAbsolutePath().toString());
    }
  }

  /**
   * Removes the jars of earlier gateway versions. An agent still running from one keeps it open,
   * and a confined one has it bound into its sandbox: neither needs the name.
   */
  private static void removeOthers(Path dir, Path keep) throws IOException {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, PREFIX + "*.jar")) {
      for (Path file : files) {
        if (!file.getFileName().equals(keep.getFileName())) {
          Files.deleteIfExists(file);
        }
      }
    }
  }
}
