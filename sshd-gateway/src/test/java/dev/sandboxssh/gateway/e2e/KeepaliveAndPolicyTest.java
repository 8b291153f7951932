package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keepalives close dead clients, the idle timeout closes silent ones, permit-open is enforced. */
@Tag("e2e")
class KeepaliveAndPolicyTest {
  @TempDir Path dir;

  @Test
  void aClientThatStopsAnsweringKeepalivesIsDisconnected() throws Exception {
    GatewayConfig.Keepalive fast =
        new GatewayConfig.Keepalive(Duration.ofSeconds(1), 2, Duration.ZERO);
    try (GatewayFixture gateway =
            GatewayFixture.start(dir, GatewayConfig.defaults().forwarding(), fast);
        LogCapture sessions = LogCapture.of("dev.sandboxssh.gateway.session")) {
      Process client = OpenSsh.start(gateway.ssh().sshCommand(GatewayFixture.SANDBOX, "sleep 120"));
      try {
        Eventually.until(
            "the session to start", Timeouts.COMMAND, () -> sessions.count("session start") == 1);
        // A stopped client still ACKs at the TCP level but answers no SSH keepalive: what a
        // dead peer behind a NAT looks like.
        signal("STOP", client.pid());
        Eventually.until(
            "the gateway to drop the silent client",
            Timeouts.EVENTUALLY,
            () -> sessions.count("session end") == 1);
      } finally {
        signal("CONT", client.pid());
        client.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void anIdleConnectionIsClosedAfterTheIdleTimeout() throws Exception {
    GatewayConfig.Keepalive idle =
        new GatewayConfig.Keepalive(Duration.ofSeconds(15), 3, Duration.ofSeconds(2));
    try (GatewayFixture gateway =
        GatewayFixture.start(dir, GatewayConfig.defaults().forwarding(), idle)) {
      long started = System.nanoTime();
      OpenSsh.Result r = gateway.ssh().ssh(GatewayFixture.SANDBOX, "sleep 60");
      Duration took = Duration.ofNanos(System.nanoTime() - started);
      assertThat(r.exitCode()).as("closed by the gateway, not finished").isNotZero();
      assertThat(took).isLessThan(Duration.ofSeconds(40));
    }
  }

  @Test
  void directTcpipToATargetOutsidePermitOpenIsAdministrativelyProhibited() throws Exception {
    GatewayConfig.Forwarding onlyPort9 =
        new GatewayConfig.Forwarding(true, true, true, true, List.of("127.0.0.1:9"));
    try (GatewayFixture gateway =
        GatewayFixture.start(dir, onlyPort9, GatewayConfig.defaults().keepalive())) {
      // ssh -W opens one direct-tcpip channel and relays it over stdio; at LogLevel INFO the
      // client prints the open failure's reason code.
      OpenSsh.Result refused =
          gateway
              .ssh()
              .ssh(
                  GatewayFixture.SANDBOX,
                  null,
                  new byte[0],
                  Timeouts.COMMAND,
                  "-o",
                  "LogLevel=INFO",
                  "-W",
                  "127.0.0.1:22");
      assertThat(refused.exitCode()).isEqualTo(255);
      assertThat(refused.stderr()).contains("administratively prohibited");

      OpenSsh.Result stillWorks = gateway.ssh().ssh(GatewayFixture.SANDBOX, "echo ok");
      assertThat(stillWorks.stdout()).isEqualTo("ok\n");
    }
  }

  private static void signal(String name, long pid) {
    OpenSsh.run(List.of("kill", "-" + name, Long.toString(pid)), new byte[0], Timeouts.COMMAND);
  }
}
