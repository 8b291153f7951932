package dev.sandboxssh.gateway.e2e;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a gateway's operations port as Prometheus and a probe would. */
final class OpsHttp {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private final int port;

  OpsHttp(int port) {
    this.port = port;
  }

  /** A port free now, for metrics.port (0 there means off, so tests pick one). */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** GET {@code path}. */
  HttpResponse<String> get(String path) {
    try {
      return CLIENT.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
              .timeout(Duration.ofSeconds(10))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("GET " + path + " failed", e);
    }
  }

  /** The status of GET {@code path}. */
  int status(String path) {
    return get(path).statusCode();
  }

  /** The scrape of {@code /metrics}. */
  String scrape() {
    return get("/metrics").body();
  }

  /**
   * The value of the sample {@code series} (a name with its labels as scraped, sorted by name) in
   * {@code scrape}; -1 when absent.
   */
  static double value(String scrape, String series) {
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(series) + " ([-+0-9.eE]+|NaN)$").matcher(scrape);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }
}
