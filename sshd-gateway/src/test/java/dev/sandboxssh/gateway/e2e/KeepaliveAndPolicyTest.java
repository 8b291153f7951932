package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
    Duration idleTimeout = Duration.ofSeconds(2);
    GatewayConfig.Keepalive idle =
        new GatewayConfig.Keepalive(Duration.ofSeconds(15), 3, idleTimeout);
    try (GatewayFixture gateway =
            GatewayFixture.start(dir, GatewayConfig.defaults().forwarding(), idle);
        LogCapture sessions = LogCapture.of("dev.sandboxssh.gateway.session");
        LogCapture closes = LogCapture.of("dev.sandboxssh.gateway.bridge.forward")) {
      // Start the sandbox's agent first: the idle clock also runs while a session waits for it,
      // so this client keeps the connection busy with keepalives of its own meanwhile.
      OpenSsh.Result warmUp =
          gateway.ssh().ssh(GatewayFixture.SANDBOX, "true", "-o", "ServerAliveInterval=1");
      assertThat(warmUp.exitCode()).as(warmUp.stderr()).isZero();
      // The client may exit before the gateway has seen the connection close.
      Eventually.until(
          "the warm-up's session end logged",
          Timeouts.EVENTUALLY,
          () -> sessions.count("session end") == 1);
      assertThat(closes.messages()).as("closed by the gateway").isEmpty();
      sessions.clear();

      idleSessionIsClosed(gateway, idleTimeout, sessions, closes);
    }
  }

  /** Runs a command that prints a line and then sleeps, sending nothing, until it is cut off. */
  private static void idleSessionIsClosed(
      GatewayFixture gateway, Duration idleTimeout, LogCapture sessions, LogCapture closes)
      throws Exception {
    long started = System.nanoTime();
    Process client =
        OpenSsh.start(
            gateway
                .ssh()
                .sshCommand(
                    GatewayFixture.SANDBOX,
                    "echo up; sleep 60; echo finished",
                    "-o",
                    "LogLevel=INFO"));
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
      CompletableFuture<String> err =
          CompletableFuture.supplyAsync(
              () -> readAll(client.getErrorStream()), BlockingTasks.THREADS);
      // The session was up: logged in, and the command started.
      assertThat(
              CompletableFuture.supplyAsync(() -> readLine(out), BlockingTasks.THREADS)
                  .get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS))
          .as("first line")
          .isEqualTo("up");
      assertThat(sessions.count("session start")).isEqualTo(1);

      assertThat(client.waitFor(Timeouts.EVENTUALLY.toSeconds(), TimeUnit.SECONDS))
          .as("the client was disconnected within %s", Timeouts.EVENTUALLY)
          .isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThan(idleTimeout);
      assertThat(readLine(out)).as("output after 'up'").isNull();
      assertThat(client.exitValue()).isEqualTo(255);
      assertThat(err.get(10, TimeUnit.SECONDS))
          .isEqualTo("Connection to 127.0.0.1 closed by remote host.\r\n");
      // The gateway closed it for being idle, and for nothing else.
      Eventually.until(
          "the session end logged", Timeouts.EVENTUALLY, () -> sessions.count("session end") == 1);
      assertThat(closes.messages())
          .singleElement()
          .asString()
          .startsWith("closing ")
          .endsWith(": idle for more than " + idleTimeout);
    } finally {
      client.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String readLine(BufferedReader reader) {
    try {
      return reader.readLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String readAll(InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
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
      assertThat(refused.stderr())
          .contains("administratively prohibited: not in forwarding.permit-open");

      OpenSsh.Result stillWorks = gateway.ssh().ssh(GatewayFixture.SANDBOX, "echo ok");
      assertThat(stillWorks.stdout()).isEqualTo("ok\n");
    }
  }

  private static void signal(String name, long pid) {
    OpenSsh.run(List.of("kill", "-" + name, Long.toString(pid)), new byte[0], Timeouts.COMMAND);
  }
}
