package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Metrics, health and the audit log after real OpenSSH sessions: the counters match what was done,
 * and the audit log answers "who read that file in that sandbox".
 */
@Tag("e2e")
class MetricsAndAuditTest {
  private static final String SANDBOX = GatewayFixture.SANDBOX;

  @TempDir Path dir;

  @Test
  void metricsCountLoginsSessionsBytesAndAgentsAndReadinessFollowsTheStore() throws Exception {
    int metricsPort = OpsHttp.freePort();
    try (GatewayFixture gateway =
        GatewayFixture.start(
            dir, c -> c.withMetrics(new GatewayConfig.Metrics("127.0.0.1", metricsPort)))) {
      assertThat(gateway.app().metricsPort()).isEqualTo(metricsPort);
      OpsHttp http = new OpsHttp(metricsPort);
      assertThat(http.status("/healthz")).isEqualTo(200);
      assertThat(http.status("/readyz")).isEqualTo(200);

      byte[] payload = new byte[200_000];
      new Random(1).nextBytes(payload);
      OpenSsh.Result upload = gateway.ssh().ssh(SANDBOX, "wc -c", payload, Timeouts.COMMAND);
      assertThat(upload.stdout().strip()).as(upload.stderr()).isEqualTo("200000");
      OpenSsh.Result download = gateway.ssh().ssh(SANDBOX, "head -c 300000 /dev/zero");
      assertThat(download.stdoutBytes()).as(download.stderr()).hasSize(300_000);
      Path stranger = gateway.newKey("stranger");
      OpenSsh.Result refused = gateway.ssh().withIdentity(stranger).ssh(SANDBOX, "true");
      assertThat(refused.exitCode()).isEqualTo(255);
      assertThat(refused.stderr()).contains("Permission denied");

      // Connections are counted as they close, which trails the clients' exit a little.
      Eventually.until(
          http::scrape,
          Timeouts.EVENTUALLY,
          () -> {
            String s = http.scrape();
            return OpsHttp.value(s, "sandboxssh_connections_open") == 0
                && OpsHttp.value(
                        s,
                        "sandboxssh_logins_total{outcome=\"refused\",reason=\"no-matching-key\"}")
                    == 1;
          },
          "every connection closed and the refused login counted");
      String s = http.scrape();
      assertThat(OpsHttp.value(s, "sandboxssh_connections_total")).isEqualTo(3);
      assertThat(OpsHttp.value(s, "sandboxssh_logins_total{outcome=\"success\",reason=\"none\"}"))
          .isEqualTo(2);
      assertThat(s).doesNotContain("reason=\"foreign-sandbox\"");
      assertThat(OpsHttp.value(s, "sandboxssh_sessions_open")).isZero();
      assertThat(OpsHttp.value(s, "sandboxssh_channels_total{kind=\"exec\"}")).isEqualTo(2);
      assertThat(OpsHttp.value(s, "sandboxssh_channels_total{kind=\"shell\"}")).isEqualTo(-1);
      assertThat(OpsHttp.value(s, "sandboxssh_bytes_total{direction=\"in\"}"))
          .isGreaterThanOrEqualTo(200_000);
      assertThat(OpsHttp.value(s, "sandboxssh_bytes_total{direction=\"out\"}"))
          .isGreaterThanOrEqualTo(300_000);
      // One cold start, then a warm agent: two sessions waited for it, one start between them.
      assertThat(OpsHttp.value(s, "sandboxssh_agent_start_seconds_count")).isEqualTo(1);
      assertThat(
              OpsHttp.value(
                  s, "sandboxssh_agent_connect_seconds_count{outcome=\"ok\",provider=\"local\"}"))
          .isEqualTo(2);
      assertThat(OpsHttp.value(s, "sandboxssh_agents_running{provider=\"local\"}")).isEqualTo(1);
      assertThat(OpsHttp.value(s, "sandboxssh_draining")).isZero();

      // A store that cannot be read makes the gateway unready, not dead.
      gateway.app().store().close();
      assertThat(http.status("/readyz")).isEqualTo(503);
      // The store's own words for it vary (SQLite, a pool); the failing check is named first.
      assertThat(http.get("/readyz").body()).startsWith("store: ").doesNotContain("ssh:");
      assertThat(http.status("/healthz")).isEqualTo(200);
    }
  }

  @Test
  void theAuditLogNamesWhoDidWhatToWhichFile() throws Exception {
    Path audit = dir.resolve("log/audit.json");
    try (GatewayFixture gateway =
        GatewayFixture.start(dir, c -> c.withAudit(new GatewayConfig.Audit(audit)))) {
      FileClients clients = new FileClients(gateway.ssh(), dir);
      OpenSsh.Result first = gateway.ssh().ssh(SANDBOX, "echo 'hello audit'");
      assertThat(first.stdout()).as(first.stderr()).isEqualTo("hello audit\n");
      Path secret = FileClients.randomFile(dir.resolve("secret.txt"), 12_345, 7);
      Path back = dir.resolve("secret.back");
      OpenSsh.Result sftp =
          clients.sftpBatch(SANDBOX, "put " + secret + " secret.txt", "get secret.txt " + back);
      assertThat(sftp.exitCode()).as(FileClients.describe(sftp)).isZero();
      assertThat(Files.size(back)).isEqualTo(12_345);
      OpenSsh.Result scp =
          clients.scp(List.of("-O"), secret.toString(), SANDBOX + "@127.0.0.1:legacy.txt");
      assertThat(scp.exitCode()).as(FileClients.describe(scp)).isZero();
      OpenSsh.Result refused =
          gateway.ssh().withIdentity(gateway.newKey("mallory")).ssh(SANDBOX, "true");
      assertThat(refused.exitCode()).isEqualTo(255);

      Eventually.until(
          () -> String.join("\n", lines(audit)),
          Timeouts.EVENTUALLY,
          () -> count(events(audit), "logout") == 3 && count(events(audit), "login") == 4,
          "three logouts and four logins in the audit log");
      List<JsonNode> events = events(audit);
      String aliceKey =
          GatewayFixture.ownerKey(gateway.aliceKey().resolveSibling("alice.pub")).fingerprint();

      // Each logged-in line names who, and one connection's lines share its session id.
      for (JsonNode e : events) {
        assertThat(e.get("time").asText()).endsWith("Z");
        assertThat(e.get("session").asText()).matches("[0-9a-f]{16}");
        assertThat(e.get("source").asText()).matches("127\\.0\\.0\\.1:[0-9]+");
        if (!"refused".equals(text(e, "outcome"))) {
          assertThat(text(e, "owner")).as("%s", e).isEqualTo("alice");
          assertThat(text(e, "sandbox")).as("%s", e).isEqualTo(SANDBOX);
          assertThat(text(e, "key")).as("%s", e).isEqualTo(aliceKey);
          assertThat(text(e, "user")).as("%s", e).isEqualTo(SANDBOX);
        }
      }
      JsonNode exec = only(events, "session.start", "kind", "exec");
      assertThat(exec.get("command").asText()).isEqualTo("echo 'hello audit'");
      JsonNode execEnd = only(events, "session.end", "session", exec.get("session").asText());
      assertThat(execEnd.get("exit").asText()).isEqualTo("0");

      JsonNode put = only(events, "file", "op", "write", "protocol", "sftp");
      assertThat(put.get("path").asText()).isEqualTo("/home/user/secret.txt");
      assertThat(put.get("bytes").asLong()).isEqualTo(12_345);
      assertThat(put.get("result").asText()).isEqualTo("ok");
      JsonNode get = only(events, "file", "op", "read", "protocol", "sftp");
      assertThat(get.get("path").asText()).isEqualTo("/home/user/secret.txt");
      assertThat(get.get("bytes").asLong()).isEqualTo(12_345);
      assertThat(get.get("session").asText()).isEqualTo(put.get("session").asText());
      JsonNode sftpStart = only(events, "session.start", "kind", "sftp");
      assertThat(sftpStart.get("session").asText()).isEqualTo(put.get("session").asText());

      JsonNode legacy = only(events, "file", "protocol", "scp");
      assertThat(legacy.get("op").asText()).isEqualTo("write");
      assertThat(legacy.get("path").asText()).isEqualTo("/home/user/legacy.txt");
      assertThat(legacy.get("bytes").asLong()).isEqualTo(12_345);
      assertThat(only(events, "session.start", "kind", "scp").get("command").asText())
          .startsWith("scp ");

      JsonNode no = only(events, "login", "outcome", "refused");
      assertThat(no.get("reason").asText()).isEqualTo("no-matching-key");
      assertThat(no.get("user").asText()).isEqualTo(SANDBOX);
      assertThat(no.get("key").asText()).isNotEqualTo(aliceKey).startsWith("SHA256:");
      assertThat(no.has("owner")).isFalse();
      JsonNode logout = only(events, "logout", "session", exec.get("session").asText());
      assertThat(logout.get("bytes_out").asLong()).isEqualTo("hello audit\n".length());
    }
  }

  private static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static List<JsonNode> events(Path file) {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> events = new ArrayList<>();
    for (String line : lines(file)) {
      try {
        events.add(json.readTree(line));
      } catch (IOException e) {
        throw new AssertionError("not one JSON object: " + line, e);
      }
    }
    return events;
  }

  private static long count(List<JsonNode> events, String event) {
    return events.stream().filter(e -> event.equals(text(e, "event"))).count();
  }

  private static String text(JsonNode e, String field) {
    return e.has(field) ? e.get(field).asText() : null;
  }

  /** The one event named {@code event} whose fields have these values (name, value, ...). */
  private static JsonNode only(List<JsonNode> events, String event, String... fieldValues) {
    List<JsonNode> found =
        events.stream()
            .filter(e -> event.equals(text(e, "event")))
            .filter(
                e -> {
                  for (int i = 0; i < fieldValues.length; i += 2) {
                    if (!fieldValues[i + 1].equals(text(e, fieldValues[i]))) {
                      return false;
                    }
                  }
                  return true;
                })
            .toList();
    assertThat(found).as("%s %s in %s", event, List.of(fieldValues), events).hasSize(1);
    return found.get(0);
  }
}
