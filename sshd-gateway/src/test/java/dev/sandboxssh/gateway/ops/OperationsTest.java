package dev.sandboxssh.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.events.GatewayEvents;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Events in, Prometheus text and JSON audit lines out, through the shipped logback.xml (the test
 * classpath's) and a real HTTP port.
 */
class OperationsTest {
  private static final GatewayEvents.Who ALICE =
      new GatewayEvents.Who(
          "0123456789abcdef", "web", "alice", "web", "SHA256:abc", "/127.0.0.1:40000");

  @TempDir Path dir;

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static HttpResponse<String> get(Operations ops, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ops.port() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void eventsBecomeMetricsAndReadinessFollowsTheGateway() throws Exception {
    GatewayConfig config =
        GatewayConfig.defaults().withMetrics(new GatewayConfig.Metrics("127.0.0.1", freePort()));
    AtomicBoolean listening = new AtomicBoolean(true);
    AtomicBoolean draining = new AtomicBoolean();
    try (Operations ops = Operations.create(config)) {
      ops.serveHttp(
          new Operations.Readiness() {
            @Override
            public boolean listening() {
              return listening.get();
            }

            @Override
            public boolean draining() {
              return draining.get();
            }

            @Override
            public void queryStore() {}
          });
      GatewayEvents e = ops.events();
      e.connectionOpened();
      e.loginSucceeded(ALICE, "SSH-2.0-OpenSSH_9.2");
      e.loginRefused(ALICE, "no-matching-key");
      e.connectionRefused("source-penalty", "/192.0.2.1:1");
      e.sessionStarted(ALICE, "exec", "cat", false);
      e.forwardOpened(ALICE, "direct-tcpip", "localhost:80");
      e.bytesIn(1000);
      e.bytesOut(250);
      e.agentConnected("local", Duration.ofMillis(30), true);
      e.agentStarted(Duration.ofMillis(900));
      e.fileOperation(ALICE, "sftp", "write", "/home/user/x", null, 5, "ok");
      ops.watchRunningAgents("local", () -> 3);

      String metrics = get(ops, "/metrics").body();
      assertThat(metrics)
          .contains("sandboxssh_connections_total 1.0")
          .contains("sandboxssh_connections_open 1.0")
          .contains("sandboxssh_sessions_open 1.0")
          .contains("sandboxssh_logins_total{outcome=\"success\",reason=\"none\"} 1.0")
          .contains("sandboxssh_logins_total{outcome=\"refused\",reason=\"no-matching-key\"} 1.0")
          .contains("sandboxssh_connections_refused_total{reason=\"source-penalty\"} 1.0")
          .contains("sandboxssh_channels_total{kind=\"exec\"} 1.0")
          .contains("sandboxssh_channels_total{kind=\"direct-tcpip\"} 1.0")
          .contains("sandboxssh_bytes_total{direction=\"in\"} 1000.0")
          .contains("sandboxssh_bytes_total{direction=\"out\"} 250.0")
          .contains(
              "sandboxssh_agent_connect_seconds_bucket{outcome=\"ok\",provider=\"local\",le=\"0.05\"}"
                  + " 1")
          .contains("sandboxssh_agent_start_seconds_bucket{le=\"0.5\"} 0")
          .contains("sandboxssh_agent_start_seconds_bucket{le=\"1.0\"} 1")
          .contains(
              "sandboxssh_file_operations_total{op=\"write\",protocol=\"sftp\",result=\"ok\"} 1.0")
          .contains("sandboxssh_agents_running{provider=\"local\"} 3.0")
          .contains("sandboxssh_draining 0.0")
          .contains("jvm_memory_used_bytes");
      assertThat(get(ops, "/readyz").statusCode()).isEqualTo(200);

      draining.set(true);
      HttpResponse<String> drained = get(ops, "/readyz");
      assertThat(drained.statusCode()).isEqualTo(503);
      assertThat(drained.body()).contains("ssh: draining");
      assertThat(get(ops, "/metrics").body()).contains("sandboxssh_draining 1.0");
      assertThat(get(ops, "/healthz").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void withoutAPortNothingListens() throws Exception {
    try (Operations ops = Operations.create(GatewayConfig.defaults())) {
      ops.serveHttp(null);
      assertThat(ops.port()).isEqualTo(-1);
      ops.events().bytesIn(1); // no meters, no failure
    }
  }

  @Test
  void auditLinesAreOneJsonObjectEachWithWhoAndWhat() throws Exception {
    Path file = dir.resolve("logs/audit.json");
    GatewayConfig config = GatewayConfig.defaults().withAudit(new GatewayConfig.Audit(file));
    try (Operations ops = Operations.create(config)) {
      GatewayEvents e = ops.events();
      e.loginSucceeded(ALICE, "SSH-2.0-OpenSSH_9.2");
      // Client-chosen text cannot forge a line: a newline and a quote in a path stay in it.
      e.fileOperation(ALICE, "sftp", "read", "/home/user/a\"b\nc", null, 12345, "ok");
      e.sessionStarted(ALICE, "exec", "cat /home/user/secret.txt", false);
      e.loginRefused(
          new GatewayEvents.Who("fedcba9876543210", "web", null, null, "SHA256:zz", "/h:1"),
          "foreign-sandbox");
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    assertThat(lines).hasSize(4);
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> events = new ArrayList<>();
    for (String line : lines) {
      events.add(json.readTree(line));
    }
    JsonNode login = events.get(0);
    assertThat(login.get("event").asText()).isEqualTo("login");
    assertThat(login.get("outcome").asText()).isEqualTo("success");
    assertThat(login.get("session").asText()).isEqualTo("0123456789abcdef");
    assertThat(login.get("owner").asText()).isEqualTo("alice");
    assertThat(login.get("sandbox").asText()).isEqualTo("web");
    assertThat(login.get("key").asText()).isEqualTo("SHA256:abc");
    assertThat(login.get("source").asText()).isEqualTo("/127.0.0.1:40000");
    assertThat(login.get("time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
    // The human log's fields are left out.
    assertThat(login.has("logger_name")).isFalse();
    assertThat(login.has("level")).isFalse();

    JsonNode read = events.get(1);
    assertThat(read.get("event").asText()).isEqualTo("file");
    assertThat(read.get("op").asText()).isEqualTo("read");
    assertThat(read.get("path").asText()).isEqualTo("/home/user/a\"b\nc");
    assertThat(read.get("bytes").isNumber()).isTrue();
    assertThat(read.get("bytes").asLong()).isEqualTo(12345);
    assertThat(read.get("result").asText()).isEqualTo("ok");
    assertThat(events.get(2).get("command").asText()).isEqualTo("cat /home/user/secret.txt");
    JsonNode refused = events.get(3);
    assertThat(refused.get("outcome").asText()).isEqualTo("refused");
    assertThat(refused.get("reason").asText()).isEqualTo("foreign-sandbox");
    assertThat(refused.has("owner")).isFalse();
  }
}
