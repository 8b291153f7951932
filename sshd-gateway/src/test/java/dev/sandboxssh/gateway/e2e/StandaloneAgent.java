package dev.sandboxssh.gateway.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A sandbox agent the test runs itself, as a platform would for a remote sandbox (or a pod's
 * container): a JVM of its own, unknown to the gateway but for its endpoint and token, so it
 * outlives any gateway in front of it.
 */
public final class StandaloneAgent implements AutoCloseable {
  private static final String TOKEN = "standalone-agent-token";

  private final Process process;
  private final String endpoint;
  private final String token;

  private StandaloneAgent(Process process, String endpoint, String token) {
    this.process = process;
    this.endpoint = endpoint;
    this.token = token;
  }

  /** Starts an agent serving {@code dir/home}, listening on {@code dir/agent.sock}. */
  public static StandaloneAgent start(Path dir) throws Exception {
    return start(dir, "unix:" + dir.resolve("agent.sock"), TOKEN);
  }

  /**
   * Starts an agent serving {@code dir/home} on a free TCP port of 127.0.0.1 with {@code token}, as
   * a pod's agent listens on the pod's IP.
   */
  public static StandaloneAgent startOnTcp(Path dir, String token) throws Exception {
    return start(dir, "127.0.0.1:0", token);
  }

  private static StandaloneAgent start(Path dir, String listen, String token) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, token, StandardCharsets.UTF_8);
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
            listen,
            "--token-file",
            tokenFile.toString(),
            "--root",
            home.toString(),
            "--exit-with-stdin");
    Process process =
        new ProcessBuilder(argv)
            .redirectError(dir.resolve("agent.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    String first = OpenSsh.firstLine(process);
    if (first == null || !first.startsWith("listening ")) {
      process.waitFor(5, TimeUnit.SECONDS);
      throw new AssertionError(
          "the agent did not start: "
              + first
              + "; its log: "
              + Files.readString(dir.resolve("agent.log"), StandardCharsets.UTF_8));
    }
    // "listening 127.0.0.1:PORT" with the port bound, or "listening unix:PATH".
    return new StandaloneAgent(process, first.substring("listening ".length()), token);
  }

  /** Its endpoint, as {@code sandbox create --endpoint} takes it. */
  public String endpoint() {
    return endpoint;
  }

  /** The TCP port it listens on. */
  public int port() {
    return Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
  }

  /** Its bearer token. */
  public String token() {
    return token;
  }

  @Override
  public void close() throws IOException {
    process.getOutputStream().close(); // --exit-with-stdin
    process.destroy();
  }
}
