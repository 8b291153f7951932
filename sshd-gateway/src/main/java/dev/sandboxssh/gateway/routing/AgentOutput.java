package dev.sandboxssh.gateway.routing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A started agent's output, each stream read on a daemon thread of its own: in the common pool (one
 * thread on two cores) one blocking read would wait behind another and miss its timeout.
 */
final class AgentOutput {
  private AgentOutput() {}

  /** The agent's first stdout line ("listening ..."), or null at EOF; the rest is drained. */
  static CompletableFuture<String> firstLine(Process agent, String threadName) {
    CompletableFuture<String> first = new CompletableFuture<>();
    start(
        threadName,
        () -> {
          readLines(agent.getInputStream(), first::complete);
          first.complete(null);
        });
    return first;
  }

  /** Hands each line of {@code stream} to {@code onLine} until EOF. */
  static void eachLine(InputStream stream, String threadName, Consumer<String> onLine) {
    start(threadName, () -> readLines(stream, onLine));
  }

  private static void readLines(InputStream stream, Consumer<String> onLine) {
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        onLine.accept(line);
      }
    } catch (IOException e) {
      // The agent is gone; whoever waits on it says so.
    }
  }

  private static void start(String name, Runnable task) {
    Thread t = new Thread(task, name);
    t.setDaemon(true);
    t.start();
  }
}
