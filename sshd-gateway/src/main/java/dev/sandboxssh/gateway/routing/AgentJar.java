package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
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
        // The build's time, not the unpacking's: every gateway of this build, whatever its data
        // dir, then has the same file for the agent start-up cache's key (AgentStartupCache).
        FileTime built = entry.getTime() >= 0 ? FileTime.fromMillis(entry.getTime()) : null;
        try (InputStream in = gateway.getInputStream(entry)) {
          InstalledFiles.install(in, jar, built);
        }
      }
      // The jars of earlier gateway versions.
      InstalledFiles.removeOthers(dir, PREFIX + "*{.jar," + InstalledFiles.PARTIAL + "}", jar);
      return List.of(jar.toAbsolutePath().toString());
    }
  }
}
