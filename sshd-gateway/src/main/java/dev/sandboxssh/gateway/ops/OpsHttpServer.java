package dev.sandboxssh.gateway.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations port: {@code /metrics} (Prometheus), {@code /healthz} (200 while the process
 * serves HTTP at all) and {@code /readyz} (200 when every readiness check passes, else 503 with one
 * line per failing check). The JDK's own HTTP server: three GET endpoints need no framework.
 */
final class OpsHttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OpsHttpServer.class);

  /** A readiness check: null when ready, else a one-line reason. */
  @FunctionalInterface
  interface Check {
    /** Null when ready, else why not. */
    String problem();
  }

  private final HttpServer http;
  private final ExecutorService threads;

  private OpsHttpServer(HttpServer http, ExecutorService threads) {
    this.http = http;
    this.threads = threads;
  }

  /**
   * Listens on {@code host:port} (port 0 picks a free one) and serves the scrape that {@code
   * metrics} returns for an Accept header, and the readiness {@code checks} by name.
   */
  static OpsHttpServer start(
      String host,
      int port,
      Function<String, String> metrics,
      Function<String, String> contentType,
      Map<String, Check> checks)
      throws IOException {
    HttpServer http = HttpServer.create(new InetSocketAddress(host, port), 16);
    // Two threads: a scrape and a probe never wait for each other, and a flood cannot grow threads.
    ExecutorService threads =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "ops-http");
              t.setDaemon(true);
              return t;
            });
    http.setExecutor(threads);
    Map<String, Check> ordered = new LinkedHashMap<>(checks);
    http.createContext(
        "/",
        exchange -> {
          try (exchange) {
            serve(exchange, metrics, contentType, ordered);
          } catch (IOException | RuntimeException e) {
            log.debug("ops request {} failed: {}", exchange.getRequestURI(), e.toString());
          }
        });
    http.start();
    return new OpsHttpServer(http, threads);
  }

  private static void serve(
      HttpExchange exchange,
      Function<String, String> metrics,
      Function<String, String> contentType,
      Map<String, Check> checks)
      throws IOException {
    String method = exchange.getRequestMethod();
    String path = exchange.getRequestURI().getPath();
    if (!method.equals("GET") && !method.equals("HEAD")) {
      exchange.getResponseHeaders().set("Allow", "GET, HEAD");
      reply(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
      return;
    }
    switch (path) {
      case "/metrics" -> {
        String accept = exchange.getRequestHeaders().getFirst("Accept");
        reply(exchange, 200, contentType.apply(accept), metrics.apply(accept));
      }
      case "/healthz" -> reply(exchange, 200, "text/plain; charset=utf-8", "ok\n");
      case "/readyz" -> {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Check> c : checks.entrySet()) {
          String problem;
          try {
            problem = c.getValue().problem();
          } catch (RuntimeException e) {
            problem = e.toString();
          }
          if (problem != null) {
            problems.add(c.getKey() + ": " + problem.replaceAll("[\\r\\n]+", " "));
          }
        }
        if (problems.isEmpty()) {
          reply(exchange, 200, "text/plain; charset=utf-8", "ready\n");
        } else {
          reply(exchange, 503, "text/plain; charset=utf-8", String.join("\n", problems) + "\n");
        }
      }
      default -> reply(exchange, 404, "text/plain; charset=utf-8", "not found\n");
    }
  }

  private static void reply(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** The port bound. */
  int port() {
    return http.getAddress().getPort();
  }

  /** Stops serving at once. */
  @Override
  public void close() {
    http.stop(0);
    threads.shutdownNow();
  }
}
