package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentJarTest {
  private static final byte[] AGENT = "the agent's jar".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  @Test
  void unpacksTheCarriedJarOnceReadOnlyAndRemovesEarlierOnes() throws IOException {
    Path gateway = gatewayJar(dir.resolve("gateway.jar"), AGENT);
    Path unpacked = dir.resolve("run/.agent");
    Files.createDirectories(unpacked);
    Path earlier = Files.writeString(unpacked.resolve("sandbox-agent-0-1.jar"), "x");
    Path halfWritten = Files.writeString(unpacked.resolve("sandbox-agent-0-2.jar.partial"), "h");

    List<String> first = AgentJar.classpath(List.of(gateway.toString()), unpacked);

    assertThat(first).hasSize(1);
    Path jar = Path.of(first.get(0));
    assertThat(jar).isAbsolute().hasParent(unpacked.toAbsolutePath()).hasBinaryContent(AGENT);
    assertThat(Files.getPosixFilePermissions(jar))
        .isEqualTo(PosixFilePermissions.fromString("r--r--r--"));
    assertThat(earlier).doesNotExist();
    assertThat(halfWritten).doesNotExist();
    try (var left = Files.list(unpacked)) {
      assertThat(left).containsExactly(jar);
    }

    // A restart finds the same file untouched, so a start-up cache made for it stays valid.
    FileTime made = FileTime.fromMillis(1_000_000);
    Files.setLastModifiedTime(jar, made);
    assertThat(AgentJar.classpath(List.of(gateway.toString()), unpacked)).isEqualTo(first);
    assertThat(Files.getLastModifiedTime(jar)).isEqualTo(made);
  }

  @Test
  void gatewaysOnTwoDataDirsUnpackTheSameFileForOneStartupCache() throws IOException {
    List<String> gateway = List.of(gatewayJar(dir.resolve("gateway.jar"), AGENT).toString());
    Path a = Path.of(AgentJar.classpath(gateway, dir.resolve("a/run/.agent")).get(0));
    Path b = Path.of(AgentJar.classpath(gateway, dir.resolve("b/run/.agent")).get(0));

    assertThat(a.getFileName()).isEqualTo(b.getFileName());
    assertThat(Files.getLastModifiedTime(a)).isEqualTo(Files.getLastModifiedTime(b));
    assertThat(new AgentStartupCache(dir.resolve("aot"), "java", List.of(a.toString())).file())
        .isEqualTo(new AgentStartupCache(dir.resolve("aot"), "java", List.of(b.toString())).file());
  }

  @Test
  void anotherBuildsJarGetsAnotherName() throws IOException {
    Path unpacked = dir.resolve("run/.agent");
    String a =
        AgentJar.classpath(List.of(gatewayJar(dir.resolve("a.jar"), AGENT).toString()), unpacked)
            .get(0);
    byte[] other = "another build".getBytes(StandardCharsets.UTF_8);
    String b =
        AgentJar.classpath(List.of(gatewayJar(dir.resolve("b.jar"), other).toString()), unpacked)
            .get(0);
    assertThat(b).isNotEqualTo(a);
    assertThat(Path.of(b)).hasBinaryContent(other);
    assertThat(Path.of(a)).doesNotExist();
  }

  @Test
  void keepsTheGatewaysClasspathWhenItCarriesNoAgentJar() throws IOException {
    Path plain = dir.resolve("plain.jar");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(plain))) {
      out.putNextEntry(new JarEntry("x/Y.class"));
    }
    Path classes = Files.createDirectories(dir.resolve("classes"));
    Path unpacked = dir.resolve("run/.agent");

    assertThat(AgentJar.classpath(List.of(plain.toString()), unpacked))
        .containsExactly(plain.toString());
    assertThat(AgentJar.classpath(List.of(classes.toString()), unpacked))
        .containsExactly(classes.toString());
    List<String> two = List.of(plain.toString(), classes.toString());
    assertThat(AgentJar.classpath(two, unpacked)).isEqualTo(two);
    assertThat(unpacked).doesNotExist();
  }

  private static Path gatewayJar(Path path, byte[] agent) throws IOException {
    try (OutputStream file = Files.newOutputStream(path);
        JarOutputStream out = new JarOutputStream(file)) {
      out.putNextEntry(new JarEntry("dev/sandboxssh/gateway/cli/GatewayMain.class"));
      JarEntry entry = new JarEntry(AgentJar.ENTRY);
      entry.setTime(1_700_000_000_000L);
      out.putNextEntry(entry);
      out.write(agent);
    }
    return path;
  }
}
