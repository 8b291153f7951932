package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drain before a gateway stops: its port closes at once, open sessions run on for the grace
 * time, those left are disconnected with a message, and named sessions live on in their agents.
 * Once through the app's API, once with a real SIGTERM to the packaged gateway.
 */
@Tag("e2e")
class DrainTest {
  private static final String SANDBOX = GatewayFixture.SANDBOX;

  @TempDir Path dir;
  private Process gateway;
  private final List<Process> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(Process::destroyForcibly);
    if (gateway != null) {
      gateway.destroyForcibly();
    }
  }

  @Test
  void aDrainRefusesNewConnectionsAndLetsOpenSessionsFinish() throws Exception {
    int metricsPort = OpsHttp.freePort();
    try (GatewayFixture fixture =
        GatewayFixture.start(
            dir, c -> c.withMetrics(new GatewayConfig.Metrics("127.0.0.1", metricsPort)))) {
      OpsHttp http = new OpsHttp(metricsPort);
      // The command runs until the test has seen the drain from outside, then finishes on the
      // line the test sends it: the open session still carries input both ways.
      Process running =
          client(fixture.ssh().sshCommand(SANDBOX, "echo started; read -r go; echo finished-$go"));
      BufferedReader out = reader(running);
      assertThat(out.readLine()).isEqualTo("started");

      long start = System.nanoTime();
      CompletableFuture<Integer> drained =
          CompletableFuture.supplyAsync(
              () -> fixture.app().drain(Duration.ofSeconds(30)), BlockingTasks.THREADS);
      Eventually.until(
          "the SSH port to close", Timeouts.EVENTUALLY, () -> !accepts(fixture.port()));
      OpenSsh.Result refused = fixture.ssh().ssh(SANDBOX, "true");
      assertThat(refused.exitCode()).isEqualTo(255);
      assertThat(refused.stderr()).contains("Connection refused");
      assertThat(http.status("/readyz")).isEqualTo(503);
      assertThat(http.get("/readyz").body()).contains("draining");
      assertThat(http.status("/healthz")).isEqualTo(200);
      assertThat(OpsHttp.value(http.scrape(), "sandboxssh_draining")).isEqualTo(1);

      // The open session finishes its command, with its own output and status.
      finish(running);
      assertThat(running.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(out.readLine()).isEqualTo("finished-now");
      assertThat(running.exitValue()).isZero();
      assertThat(drained.get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS))
          .as("connections that had to be disconnected")
          .isZero();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
    }
  }

  @Test
  void sessionsPastTheGraceAreClosedWithAMessageAndNamedSessionsLiveOn() throws Exception {
    try (GatewayFixture fixture = GatewayFixture.start(dir)) {
      OpenSsh ssh = fixture.ssh();
      // OpenSSH prints a server's disconnect message at log level INFO.
      Process plain =
          client(ssh.sshCommand(SANDBOX, "echo started; sleep 300", "-o", "LogLevel=INFO"));
      assertThat(reader(plain).readLine()).isEqualTo("started");
      try (SshTerminal named = SshTerminal.open(ssh, SANDBOX + "+work")) {
        named.type("export MARK=kept-$((3+4))\n").type("echo ready-$((1+1))\n").await("ready-2");

        long start = System.nanoTime();
        int disconnected = fixture.app().drain(Duration.ofSeconds(2));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(disconnected).isEqualTo(2);
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
        assertThat(took).isLessThan(Duration.ofSeconds(20));

        assertThat(plain.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(plain.exitValue()).isEqualTo(255);
        String said = new String(plain.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(said).contains("gateway is shutting down");
        assertThat(named.awaitExit(Timeouts.COMMAND)).isEqualTo(255);
      }

      // The named session's shell lives in the agent, which outlives this gateway.
      fixture.restart();
      try (SshTerminal again = SshTerminal.open(fixture.ssh(), SANDBOX + "+work")) {
        again.type("echo \"mark=$MARK\"\n").await("mark=kept-7");
        again.type("exit\n");
        assertThat(again.awaitExit(Timeouts.COMMAND)).isZero();
      }
    }
  }

  @Test
  void sigtermDrainsThePackagedGateway() throws Exception {
    Path data = dir.resolve("data");
    Path key = GatewayFixture.newKey(dir, "erin");
    admin("owner", "add", "erin", "--key", key + ".pub", "--data-dir", data.toString());
    admin("sandbox", "create", "--owner", "erin", "--id", "web", "--data-dir", data.toString());
    int metricsPort = OpsHttp.freePort();
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(
        config,
        "local:\n  startup-cache: false\n"
            + "metrics:\n  port: "
            + metricsPort
            + "\nshutdown:\n  grace: 20s\n");
    int port = startGateway(data, config);
    OpenSsh ssh = new OpenSsh("127.0.0.1", port, key, dir.resolve("known_hosts"));
    OpsHttp http = new OpsHttp(metricsPort);
    assertThat(http.status("/readyz")).isEqualTo(200);

    // Runs until the test has seen the drain begin, as above.
    Process running = client(ssh.sshCommand("web", "echo started; read -r go; echo finished-$go"));
    BufferedReader out = reader(running);
    assertThat(out.readLine()).isEqualTo("started");
    long start = System.nanoTime();
    gateway.destroy(); // SIGTERM

    Eventually.until("the SSH port to close", Timeouts.EVENTUALLY, () -> !accepts(port));
    OpenSsh.Result refused = ssh.ssh("web", "true");
    assertThat(refused.exitCode()).isEqualTo(255);
    assertThat(refused.stderr()).contains("Connection refused");
    assertThat(http.status("/readyz")).isEqualTo(503);

    finish(running);
    assertThat(running.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(out.readLine()).isEqualTo("finished-now");
    assertThat(running.exitValue()).isZero();
    // The gateway stops once its last session ended, well before the grace time.
    assertThat(gateway.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    assertThat(gateway.exitValue()).as("killed by SIGTERM, after its hooks").isEqualTo(143);
  }

  private Process client(List<String> argv) {
    Process p = OpenSsh.start(argv);
    clients.add(p);
    return p;
  }

  /** Sends the line a running {@code read -r go} waits for. */
  private static void finish(Process client) throws IOException {
    client.getOutputStream().write("now\n".getBytes(StandardCharsets.UTF_8));
    client.getOutputStream().flush();
  }

  private static BufferedReader reader(Process p) {
    return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private int startGateway(Path data, Path config) throws Exception {
    PackagedGateway.Serving serving = PackagedGateway.serve(dir, data, config);
    gateway = serving.process();
    return serving.port();
  }

  private static void admin(String... args) {
    assertThat(PackagedGateway.admin(args)).as("%s", java.util.List.of(args)).isZero();
  }
}
