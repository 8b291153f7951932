package dev.sandboxssh.gateway.e2e;

import dev.sandboxssh.agent.StderrLogProvider;
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
  private final String envdUrl;

  private StandaloneAgent(Process process, String endpoint, String token, String envdUrl) {
    this.process = process;
    this.endpoint = endpoint;
    this.token = token;
    this.envdUrl = envdUrl;
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
    return start(dir, "127.0.0.1:0", token, false);
  }

  /**
   * Starts an agent serving {@code dir/home} that also serves E2B's envd API on a free port of
   * 127.0.0.1 ({@code --envd-listen}), as an E2B sandbox's envd.
   */
  public static StandaloneAgent startWithEnvd(Path dir, String token) throws Exception {
    return start(dir, "127.0.0.1:0", token, true);
  }

  private static StandaloneAgent start(Path dir, String listen, String token) throws Exception {
    return start(dir, listen, token, false);
  }

  private static StandaloneAgent start(Path dir, String listen, String token, boolean envd)
      throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, token, StandardCharsets.UTF_8);
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> argv =
        new java.util.ArrayList<>(
            List.of(
                java.toString(),
                // Logs to stderr, as a gateway's local agents do; stdout carries "listening" alone.
                "-Dslf4j.provider=" + StderrLogProvider.class.getName(),
                "-Dslf4j.internal.verbosity=WARN",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.sandboxssh.agent.AgentMain",
                "--listen",
                listen,
                "--token-file",
                tokenFile.toString(),
                "--root",
                home.toString(),
                "--exit-with-stdin"));
    if (envd) {
      argv.addAll(List.of("--envd-listen", "127.0.0.1:0"));
    }
    Process process =
        new ProcessBuilder(argv)
            .redirectError(dir.resolve("agent.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    // One reader for both lines: a second reader could miss what the first one buffered.
    java.io.BufferedReader out =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String first = OpenSsh.nextLine(out);
    if (first == null || !first.startsWith("listening ")) {
      process.waitFor(5, TimeUnit.SECONDS);
      throw new AssertionError(
          "the agent did not start: "
              + first
              + "; its log: "
              + Files.readString(dir.resolve("agent.log"), StandardCharsets.UTF_8));
    }
    String envdUrl = null;
    if (envd) {
      String second = OpenSsh.nextLine(out);
      if (second == null || !second.startsWith("envd listening ")) {
        throw new AssertionError("the agent's envd face did not start: " + second);
      }
      envdUrl = "http://" + second.substring("envd listening ".length());
    }
    // "listening 127.0.0.1:PORT" with the port bound, or "listening unix:PATH".
    return new StandaloneAgent(process, first.substring("listening ".length()), token, envdUrl);
  }

  /** Its endpoint, as {@code sandbox create --endpoint} takes it. */
  public String endpoint() {
    return endpoint;
  }

  /** The TCP port it listens on. */
  public int port() {
    return Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
  }

  /** The URL of its envd face, for an agent started {@link #startWithEnvd}. */
  public String envdUrl() {
    return envdUrl;
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
