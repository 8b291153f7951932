package dev.sandboxssh.gateway.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A sandbox agent the test runs itself, as a platform would for a remote sandbox: a JVM of its own
 * on a unix socket, unknown to the gateway but for its endpoint and token, so it outlives any
 * gateway in front of it.
 */
public final class StandaloneAgent implements AutoCloseable {
  private static final String TOKEN = "standalone-agent-token";

  private final Process process;
  private final Path socket;

  private StandaloneAgent(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  /** Starts an agent serving {@code dir/home}, listening on {@code dir/agent.sock}. */
  public static StandaloneAgent start(Path dir) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Path token = dir.resolve("token");
    Files.writeString(token, TOKEN, StandardCharsets.UTF_8);
    Path socket = dir.resolve("agent.sock");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> argv =
        List.of(
            java.toString(),
            // Logs to stderr, as a gateway's local agents do; stdout carries "listening" alone.
            "-Dsandbox.agent.logging=child",
            "-cp",
            System.getProperty("java.class.path"),
            "dev.sandboxssh.agent.AgentMain",
            "--listen",
            "unix:" + socket,
            "--token-file",
            token.toString(),
            "--root",
            home.toString(),
            "--exit-with-stdin");
    Process process =
        new ProcessBuilder(argv)
            .redirectError(dir.resolve("agent.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    String first = OpenSsh.firstLine(process);
    if (first == null || !first.startsWith("listening")) {
      process.waitFor(5, TimeUnit.SECONDS);
      throw new AssertionError(
          "the agent did not start: "
              + first
              + "; its log: "
              + Files.readString(dir.resolve("agent.log"), StandardCharsets.UTF_8));
    }
    return new StandaloneAgent(process, socket);
  }

  /** Its endpoint, as {@code sandbox create --endpoint} takes it. */
  public String endpoint() {
    return "unix:" + socket;
  }

  /** Its bearer token. */
  public String token() {
    return TOKEN;
  }

  @Override
  public void close() throws IOException {
    process.getOutputStream().close(); // --exit-with-stdin
    process.destroy();
  }
}
