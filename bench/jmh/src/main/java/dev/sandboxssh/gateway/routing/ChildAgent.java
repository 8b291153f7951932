package dev.sandboxssh.gateway.routing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * An agent in a JVM of its own, started with the gateway's own command line ({@link AgentCommand}:
 * the same heap and netty settings), from this JVM's classpath, unconfined.
 */
public final class ChildAgent implements AutoCloseable {
  private final Process process;
  private Thread stderr;

  private ChildAgent(Process process) {
    this.process = process;
  }

  /** Starts the agent and waits until it listens on {@code socket}. */
  public static ChildAgent start(Path tmpDir, Path socket, Path tokenFile, Path home)
      throws IOException {
    Process process =
        new ProcessBuilder(new AgentCommand(null).build(tmpDir, socket, tokenFile, home, null))
            .start();
    ChildAgent agent = new ChildAgent(process);
    CompletableFuture<String> listening = new CompletableFuture<>();
    // Threads of their own: blocking reads in the common pool would stall other async work.
    daemon(
        "child-agent-stdout",
        () -> listening.complete(firstLine(process.getInputStream())),
        listening::completeExceptionally);
    agent.stderr =
        daemon("child-agent-stderr", () -> forwardProblems(process.getErrorStream()), e -> {});
    try {
      String first = listening.get(30, TimeUnit.SECONDS);
      if (first == null || !first.startsWith("listening ")) {
        throw new IOException("the agent did not start: " + first);
      }
      return agent;
    } catch (InterruptedException | ExecutionException | TimeoutException | IOException e) {
      agent.close();
      throw e instanceof IOException io ? io : new IOException("the agent did not start", e);
    }
  }

  private static String firstLine(InputStream in) throws IOException {
    return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
  }

  /** The agent's warnings and errors, on this JVM's stderr; its INFO lines would mix into JMH's. */
  private static void forwardProblems(InputStream err) throws IOException {
    BufferedReader lines = new BufferedReader(new InputStreamReader(err, StandardCharsets.UTF_8));
    for (String line; (line = lines.readLine()) != null; ) {
      if (!line.startsWith("INFO ") && !line.startsWith("DEBUG ")) {
        System.err.println("[agent] " + line);
      }
    }
  }

  private interface IoTask {
    void run() throws IOException;
  }

  private static Thread daemon(String name, IoTask task, Consumer<IOException> onFailure) {
    Thread thread =
        new Thread(
            () -> {
              try {
                task.run();
              } catch (IOException e) {
                onFailure.accept(e);
              }
            },
            name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** Closes the agent's stdin, which ends it ({@code --exit-with-stdin}), or kills it. */
  @Override
  public void close() {
    try {
      process.getOutputStream().close();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
      // What the agent said while stopping, before this JVM exits.
      stderr.join(1000);
    } catch (IOException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
