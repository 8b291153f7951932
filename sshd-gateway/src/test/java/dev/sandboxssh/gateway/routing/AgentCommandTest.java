package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the agent's command line tells its JVM. */
class AgentCommandTest {
  private static final String LIBRARY_PATH = "-Djna.platform.library.path=";

  @Test
  void theAgentIsToldWhereLibcIsSoItsJnaNeedNotRunLdconfig() {
    Path dir = Path.of("/tmp/agent");
    List<String> cmd =
        new AgentCommand(null)
            .build(dir, dir.resolve("agent.sock"), dir.resolve("token"), dir, dir);

    List<String> given = cmd.stream().filter(arg -> arg.startsWith(LIBRARY_PATH)).toList();
    assertThat(given).hasSize(1);
    // Before the main class: a JVM option, not an argument of the agent's.
    assertThat(cmd.indexOf(given.get(0))).isLessThan(cmd.indexOf(AgentCommand.MAIN_CLASS));
    String[] dirs = given.get(0).substring(LIBRARY_PATH.length()).split(File.pathSeparator);
    assertThat(Arrays.stream(dirs).map(Path::of))
        .anyMatch(d -> Files.exists(d.resolve("libc.so.6")));
  }

  @Test
  void anAgentThatCannotStartSaysWhyInOnePlainLineOnStderr(@TempDir Path dir) throws Exception {
    // A token file that does not exist: the agent logs why it failed, and exits with 1.
    List<String> cmd =
        new AgentCommand(null)
            .build(dir, dir.resolve("agent.sock"), dir.resolve("no-token"), dir, dir);
    Process agent = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String stderr = new String(agent.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(agent.waitFor(60, TimeUnit.SECONDS)).isTrue();

    assertThat(agent.exitValue()).isEqualTo(1);
    // The provider the command names, with no logback status lines or SLF4J warnings around it.
    assertThat(stderr.lines().findFirst())
        .hasValueSatisfying(
            first ->
                assertThat(first)
                    .startsWith("ERROR d.s.agent.AgentMain - agent failed to start: ")
                    .contains("no-token"));
    assertThat(stderr).doesNotContain("SLF4J").doesNotContain("logback");
  }

  @Test
  void theAgentsNettyEmitsNoJfrEvents() throws Exception {
    // A netty that renamed it would start JFR's machinery on every cold agent's first connection.
    assertPropertyGivenAndRead(
        "io.grpc.netty.shaded.io.netty.jfr.enabled",
        "false",
        "/io/grpc/netty/shaded/io/netty/util/internal/PlatformDependent.class");
  }

  @Test
  void theAgentsNettyAndGrpcAllocateUnpooled() throws Exception {
    // Both netty's default allocator and gRPC's own read the name; one that no longer did would
    // give every agent a zeroed pool chunk again.
    String property = "io.grpc.netty.shaded.io.netty.allocator.type";
    assertPropertyGivenAndRead(
        property, "unpooled", "/io/grpc/netty/shaded/io/netty/buffer/ByteBufUtil.class");
    assertPropertyGivenAndRead(
        property, "unpooled", "/io/grpc/netty/shaded/io/grpc/netty/Utils.class");
  }

  /**
   * Asserts that the agent's command sets system property {@code property} to {@code value} as a
   * JVM option, and that {@code reader}, a class on the agent's classpath, names that property.
   */
  private void assertPropertyGivenAndRead(String property, String value, String reader)
      throws Exception {
    Path dir = Path.of("/tmp/agent");
    List<String> cmd =
        new AgentCommand(null)
            .build(dir, dir.resolve("agent.sock"), dir.resolve("token"), dir, dir);

    assertThat(cmd.indexOf("-D" + property + "=" + value))
        .isPositive()
        .isLessThan(cmd.indexOf(AgentCommand.MAIN_CLASS));
    try (var in = getClass().getResourceAsStream(reader)) {
      assertThat(in).as(reader).isNotNull();
      assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).contains(property);
    }
  }
}
