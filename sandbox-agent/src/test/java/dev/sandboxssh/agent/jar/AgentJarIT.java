package dev.sandboxssh.agent.jar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.CommandResult;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged agent jar, started as the README says, answers an SDK client in another process.
 * Runs after {@code package}, in the failsafe phase.
 */
@Tag("e2e")
class AgentJarIT {
  private static final Path JAR = Path.of("target", "sandbox-agent.jar").toAbsolutePath();
  private static final Duration STARTUP = Duration.ofSeconds(30);

  @TempDir Path tmp;

  @Test
  void helpPrintsUsageAndExitsZero() throws Exception {
    Process p = java("--help").start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(STARTUP.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    assertThat(out).contains("--listen", "--token-file", "--root");
  }

  @Test
  void startedJarServesAnSdkClientAndStopsCleanly() throws Exception {
    Path home = Files.createDirectories(tmp.resolve("home"));
    Path token = tmp.resolve("token");
    Files.writeString(token, "jar-test-token\n");
    Path socket = tmp.resolve("agent.sock");
    Process agent =
        java(
                "--listen",
                "unix:" + socket,
                "--token-file",
                token.toString(),
                "--root",
                home.toString())
            .redirectError(tmp.resolve("agent.err").toFile())
            .start();
    try {
      String first =
          new String(
              agent.getInputStream().readNBytes("listening".length()), StandardCharsets.UTF_8);
      assertThat(first).isEqualTo("listening");
      try (Sandbox sandbox = Sandbox.connect("unix:" + socket, "jar-test-token")) {
        sandbox.awaitReady(STARTUP);
        CommandResult r = sandbox.commands().run("pwd; echo from-the-jar; exit 5");
        assertThat(r.exitCode()).isEqualTo(5);
        assertThat(r.stdout()).isEqualTo(home.toRealPath() + "\nfrom-the-jar\n");
        sandbox.files().writeAll("note.txt", "written".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.readString(home.resolve("note.txt"))).isEqualTo("written");
      }
    } finally {
      agent.destroy();
      assertThat(agent.waitFor(STARTUP.toSeconds(), TimeUnit.SECONDS)).isTrue();
    }
    assertThat(agent.isAlive()).isFalse();
    assertThat(socket).doesNotExist();
  }

  @Test
  void agentExitsWhenItsParentClosesStdin() throws Exception {
    Path token = tmp.resolve("token");
    Files.writeString(token, "t");
    Process agent =
        java(
                "--listen",
                "unix:" + tmp.resolve("a.sock"),
                "--token-file",
                token.toString(),
                "--exit-with-stdin")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    assertThat(new String(agent.getInputStream().readNBytes(9), StandardCharsets.UTF_8))
        .isEqualTo("listening");
    agent.getOutputStream().close();
    assertThat(agent.waitFor(STARTUP.toSeconds(), TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void anOrphanedAgentStaysForItsNamedSessionsAndClientsThenStops() throws Exception {
    Path token = tmp.resolve("token");
    Files.writeString(token, "t");
    Path socket = tmp.resolve("a.sock");
    Process agent =
        java("--listen", "unix:" + socket, "--token-file", token.toString(), "--exit-with-stdin")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      assertThat(new String(agent.getInputStream().readNBytes(9), StandardCharsets.UTF_8))
          .isEqualTo("listening");
      int pid;
      try (Sandbox sandbox = Sandbox.connect("unix:" + socket, "t")) {
        sandbox.awaitReady(STARTUP);
        CommandHandle session =
            sandbox
                .commands()
                .run("sleep 300", CommandOptions.create().background(true).tag("kept"));
        pid = session.pid();
        session.disconnect();
        agent.getOutputStream().close();
        assertThat(agent.waitFor(2, TimeUnit.SECONDS))
            .as("a named session keeps the agent up without its parent")
            .isFalse();
      }
      assertThat(agent.waitFor(2, TimeUnit.SECONDS))
          .as("still up with no client: the session runs")
          .isFalse();
      try (Sandbox sandbox = Sandbox.connect("unix:" + socket, "t")) {
        sandbox.awaitReady(STARTUP);
        assertThat(sandbox.commands().list()).anyMatch(p -> p.tag().equals("kept"));
        sandbox.commands().kill(pid);
        assertThat(agent.waitFor(2, TimeUnit.SECONDS))
            .as("still up while a client is connected")
            .isFalse();
      }
      assertThat(agent.waitFor(STARTUP.toSeconds(), TimeUnit.SECONDS))
          .as("gone once neither sessions nor clients are left")
          .isTrue();
    } finally {
      agent.destroyForcibly();
    }
  }

  private static ProcessBuilder java(String... args) throws IOException {
    assertThat(JAR).as("run after package").exists();
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                JAR.toString()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd);
  }
}
