package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.cli.GatewayMain;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged gateway jar in a process of its own, as a user runs it: {@code serve} and the admin
 * commands. For what only a real process shows: signals, a killed gateway, agents outliving it.
 */
final class PackagedGateway {
  static final Path JAR = Path.of("target", "sshd-gateway.jar").toAbsolutePath();

  private static final Pattern LISTENING = Pattern.compile("gateway listening on [^:]+:(\\d+)");

  /** Log lines of a gateway kept for a failure's message: the last ones, bounded. */
  private static final int LOG_TAIL = 60;

  /**
   * A running {@code serve}, the port it printed, and its last log lines so far (for a failing
   * wait's message: what the gateway said when a condition never came).
   */
  record Serving(Process process, int port, Supplier<String> logTail) {}

  private PackagedGateway() {}

  /** The argv that runs the jar with {@code args}, on this JVM's java. */
  static List<String> command(String... args) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                JAR.toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Runs an admin command ({@code owner ...}, {@code sandbox ...}) in this JVM through the same CLI
   * as the packaged jar, without a JVM start per command; its exit status. Bad input fails the test
   * with the command's stderr.
   */
  static int admin(String... args) {
    StringWriter err = new StringWriter();
    int status =
        GatewayMain.execute(
            args,
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(err, true),
            config -> {
              throw new AssertionError("not an admin command: " + List.of(args));
            });
    assertThat(err.toString()).as("%s", List.of(args)).doesNotContain("error:");
    return status;
  }

  /**
   * Starts {@code serve --port 0} on {@code data} with {@code config} and {@code dir/keys}, stdout
   * to {@code dir/gateway.out}, and returns once it printed its port. Its stderr is read to the end
   * meanwhile, so that the gateway never blocks on a full pipe.
   */
  static Serving serve(Path dir, Path data, Path config) throws Exception {
    assertThat(JAR).as("run after package").exists();
    Process process =
        new ProcessBuilder(
                command(
                    "serve",
                    "--port",
                    "0",
                    "--data-dir",
                    data.toString(),
                    "--keys-dir",
                    dir.resolve("keys").toString(),
                    "--config",
                    config.toString()))
            .redirectOutput(dir.resolve("gateway.out").toFile())
            .start();
    CompletableFuture<Integer> found = new CompletableFuture<>();
    Deque<String> tail = new ArrayDeque<>();
    CompletableFuture.runAsync(
        () -> {
          try (BufferedReader err =
              new BufferedReader(
                  new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = err.readLine()) != null; ) {
              synchronized (tail) {
                if (tail.size() == LOG_TAIL) {
                  tail.removeFirst();
                }
                tail.addLast(line);
              }
              Matcher m = LISTENING.matcher(line);
              if (m.find()) {
                found.complete(Integer.parseInt(m.group(1)));
              }
            }
          } catch (IOException e) {
            // The gateway is gone.
          }
          found.complete(-1);
        },
        BlockingTasks.THREADS);
    int port;
    try {
      port = found.get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      process.destroyForcibly();
      throw new AssertionError("gateway did not start", e);
    }
    if (port <= 0) {
      process.destroyForcibly();
    }
    assertThat(port).as("the gateway printed its port").isPositive();
    return new Serving(
        process,
        port,
        () -> {
          synchronized (tail) {
            return "\n" + String.join("\n", tail);
          }
        });
  }
}
