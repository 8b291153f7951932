package dev.sandboxssh.agent.envd;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.grpc.Channel;
import io.grpc.Status;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * E2B's envd API over HTTP/1.1, beside the agent's gRPC one: the Connect services {@code
 * process.Process} and {@code filesystem.Filesystem}, {@code /files} and {@code /health}, all
 * served by calling the agent's own services through {@code channel}, so that both faces share one
 * process table and one filesystem view.
 *
 * <p>Every path but {@code /health} needs the agent's token in {@code X-Access-Token}; envd's other
 * ways in (signed /files URLs, Basic auth naming a user) are not accepted.
 */
public final class EnvdServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EnvdServer.class);
  private static final String PROCESS = "/process.Process/";
  private static final String FILESYSTEM = "/filesystem.Filesystem/";

  private final HttpServer server;
  private final ExecutorService executor;
  private final byte[] token;
  private final ProcessFace processes;
  private final FilesystemFace files;

  private EnvdServer(HttpServer server, String token, Channel channel, Path home) {
    this.server = server;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.processes = new ProcessFace(channel);
    this.files = new FilesystemFace(channel, home);
    AtomicInteger threads = new AtomicInteger();
    // A thread per exchange: a stream of a process's output holds its thread while it runs.
    this.executor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "envd-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
  }

  /**
   * Serves envd's API on {@code address}, calling the agent's services through {@code channel};
   * relative paths start at {@code home}.
   */
  public static EnvdServer start(
      InetSocketAddress address, String token, Channel channel, Path home) throws IOException {
    EnvdServer envd = new EnvdServer(HttpServer.create(address, 64), token, channel, home);
    envd.server.start();
    return envd;
  }

  /** The TCP port bound. */
  public int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      if (path.equals("/health")) {
        // Unauthenticated, as envd's: it tells nothing but that the agent is up.
        exchange.sendResponseHeaders(204, -1);
        return;
      }
      if (!authorized(exchange)) {
        unauthenticated(exchange, path);
        return;
      }
      if (path.startsWith(PROCESS) && exchange.getRequestMethod().equals("POST")) {
        processes.handle(path.substring(PROCESS.length()), exchange);
      } else if (path.startsWith(FILESYSTEM) && exchange.getRequestMethod().equals("POST")) {
        files.handle(path.substring(FILESYSTEM.length()), exchange);
      } else if (path.equals("/files")) {
        files.handleFiles(exchange);
      } else if (path.equals("/envs") && exchange.getRequestMethod().equals("GET")) {
        // envd's default environment set by /init; the agent has none beyond each process's own.
        json(exchange, 200, "{}");
      } else {
        jsonError(exchange, 404, "no such endpoint: " + path);
      }
    } catch (IOException e) {
      // The caller went away mid-answer; nothing is left to tell it.
      log.debug("envd {}: {}", exchange.getRequestURI().getPath(), e.toString());
    } catch (RuntimeException e) {
      log.warn("envd {} failed", exchange.getRequestURI().getPath(), e);
      try {
        jsonError(exchange, 500, "internal error");
      } catch (IOException | RuntimeException ignored) {
        // Headers were already out; the connection is closed below.
      }
    } finally {
      exchange.close();
    }
  }

  /** Constant time, so that the token cannot be learned from response times. */
  private boolean authorized(HttpExchange exchange) {
    String presented = exchange.getRequestHeaders().getFirst("X-Access-Token");
    return presented != null
        && MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8));
  }

  private static void unauthenticated(HttpExchange exchange, String path) throws IOException {
    Status status = Status.UNAUTHENTICATED.withDescription("missing or wrong X-Access-Token");
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    if ((path.startsWith(PROCESS) || path.startsWith(FILESYSTEM))
        && type != null
        && type.startsWith("application/connect+")) {
      // A streaming call: Connect puts the error in the end-of-stream message.
      exchange.getRequestBody().readAllBytes();
      byte[] end =
          ("{\"error\":" + Connect.errorJson(status) + "}").getBytes(StandardCharsets.UTF_8);
      byte[] frame = new byte[5 + end.length];
      frame[0] = 2;
      frame[1] = (byte) (end.length >>> 24);
      frame[2] = (byte) (end.length >>> 16);
      frame[3] = (byte) (end.length >>> 8);
      frame[4] = (byte) end.length;
      System.arraycopy(end, 0, frame, 5, end.length);
      exchange.getResponseHeaders().set("Content-Type", type.split(";", 2)[0].strip());
      exchange.sendResponseHeaders(200, frame.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(frame);
      }
    } else if (path.startsWith(PROCESS) || path.startsWith(FILESYSTEM)) {
      json(exchange, 401, Connect.errorJson(status));
    } else {
      jsonError(exchange, 401, status.getDescription());
    }
  }

  /** envd's REST error body: {@code {"code":N,"message":"..."}} with that HTTP status. */
  static void jsonError(HttpExchange exchange, int status, String message) throws IOException {
    json(exchange, status, "{\"code\":" + status + ",\"message\":" + Connect.quote(message) + "}");
  }

  private static void json(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Stops serving; streams still open are cut. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
