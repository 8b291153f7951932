package dev.sandboxssh.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The operations port's three endpoints, with readiness checks the test flips. */
class OpsHttpServerTest {
  private final AtomicReference<String> ssh = new AtomicReference<>("not listening");
  private final AtomicReference<String> store = new AtomicReference<>();
  private final HttpClient client = HttpClient.newHttpClient();
  private OpsHttpServer server;

  @BeforeEach
  void start() throws Exception {
    Map<String, OpsHttpServer.Check> checks = new LinkedHashMap<>();
    checks.put("ssh", ssh::get);
    checks.put("store", store::get);
    server =
        OpsHttpServer.start(
            "127.0.0.1",
            0,
            accept -> "# scraped for " + accept + "\n",
            GatewayMetrics::contentType,
            checks);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> get(String path, String accept) throws Exception {
    HttpRequest.Builder r =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    if (accept != null) {
      r.header("Accept", accept);
    }
    return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readyOnlyWhenEveryCheckPasses() throws Exception {
    // Before the SSH port listens: alive, not ready.
    assertThat(get("/healthz", null).statusCode()).isEqualTo(200);
    HttpResponse<String> before = get("/readyz", null);
    assertThat(before.statusCode()).isEqualTo(503);
    assertThat(before.body()).isEqualTo("ssh: not listening\n");

    ssh.set(null);
    HttpResponse<String> ready = get("/readyz", null);
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).isEqualTo("ready\n");

    store.set("ownership store is closed");
    HttpResponse<String> storeDown = get("/readyz", null);
    assertThat(storeDown.statusCode()).isEqualTo(503);
    assertThat(storeDown.body()).isEqualTo("store: ownership store is closed\n");
    assertThat(get("/healthz", null).statusCode()).isEqualTo(200);
  }

  @Test
  void servesTheScrapeInTheFormatAskedFor() throws Exception {
    HttpResponse<String> text = get("/metrics", null);
    assertThat(text.statusCode()).isEqualTo(200);
    assertThat(text.headers().firstValue("Content-Type"))
        .hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(text.body()).isEqualTo("# scraped for null\n");

    HttpResponse<String> open = get("/metrics", "application/openmetrics-text; version=1.0.0");
    assertThat(open.headers().firstValue("Content-Type").orElseThrow())
        .startsWith("application/openmetrics-text");
  }

  @Test
  void anythingElseIsRefused() throws Exception {
    assertThat(get("/", null).statusCode()).isEqualTo(404);
    assertThat(get("/metrics/x", null).statusCode()).isEqualTo(404);
    HttpResponse<String> post =
        client.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/readyz"))
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
  }
}
