package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-sandbox limits hold inside the sandbox that hits them, are logged with its id, and leave the
 * gateway and other sandboxes serving.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LimitsTest {
  private static final int MAX_PROCESSES = 64;
  private static final long MEMORY = 384L << 20;

  /** How fast another sandbox must still answer while one is at its limit. */
  private static final Duration NEIGHBOUR_ANSWERS_WITHIN = Duration.ofSeconds(1);

  /**
   * Forks up to 200 children that wait, reports how many it got and why forking stopped, waits for
   * a line on stdin while holding them, then kills them.
   */
  private static final String FORK_BOMB =
      "import os,signal,sys\n"
          + "pids=[]\n"
          + "why='none'\n"
          + "for i in range(200):\n"
          + "  try:\n"
          + "    pid=os.fork()\n"
          + "  except OSError as e:\n"
          + "    why=e.strerror\n"
          + "    break\n"
          + "  if pid==0:\n"
          + "    signal.pause()\n"
          + "    os._exit(0)\n"
          + "  pids.append(pid)\n"
          + "print('started', len(pids), 'stopped by', why, flush=True)\n"
          + "sys.stdin.readline()\n"
          + "for p in pids: os.kill(p, signal.SIGKILL)\n"
          + "for p in pids: os.waitpid(p, 0)\n"
          + "print('done', flush=True)\n";

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway =
        GatewayFixture.start(
            dir, new GatewayConfig.SandboxLimits(MAX_PROCESSES, MEMORY, 1.0, 1024));
    gateway.addSandbox("other", GatewayFixture.OWNER);
    ssh = gateway.ssh();
    // Both agents up before the limits are hit.
    assertThat(ssh.ssh("demo", "true").exitCode()).isZero();
    assertThat(ssh.ssh("other", "true").exitCode()).isZero();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void aSandboxCannotStart200ProcessesAndItsNeighbourKeepsAnswering() throws Exception {
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.routing")) {
      Process bomb =
          OpenSsh.start(ssh.sshCommand("demo", "exec python3 -c " + shellQuote(FORK_BOMB)));
      BufferedReader out =
          new BufferedReader(new InputStreamReader(bomb.getInputStream(), StandardCharsets.UTF_8));
      String started = out.readLine();
      assertThat(started).matches("started [0-9]+ stopped by Resource temporarily unavailable");
      int count = Integer.parseInt(started.split(" ")[1]);
      assertThat(count).isGreaterThan(0).isLessThan(MAX_PROCESSES);

      // While demo sits at its limit, other answers at once.
      long t0 = System.nanoTime();
      OpenSsh.Result neighbour = ssh.ssh("other", "echo ok");
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(neighbour.stdout()).isEqualTo("ok\n");
      assertThat(took).isLessThan(NEIGHBOUR_ANSWERS_WITHIN);

      bomb.getOutputStream().write('\n');
      bomb.getOutputStream().flush();
      assertThat(out.readLine()).isEqualTo("done");
      assertThat(bomb.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(bomb.exitValue()).isZero();

      // The sandbox itself serves again once its processes are gone.
      assertThat(ssh.ssh("demo", "echo again").stdout()).isEqualTo("again\n");
      Eventually.until(
          "the gateway logs the process limit with the sandbox id",
          Timeouts.EVENTUALLY,
          () -> log.count("sandbox demo: process limit (" + MAX_PROCESSES + ") reached") > 0);
    }
  }

  @Test
  void aMemoryHogIsKilledAndItsNeighbourKeepsAnswering() throws Exception {
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.routing")) {
      // Touches 1 GiB, a page at a time, far beyond the sandbox's 384 MiB.
      OpenSsh.Result hog =
          ssh.ssh(
              "demo",
              "python3 -c 'b = bytearray(1 << 30)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
                  + "print(\"survived\")'; echo status=$?");
      assertThat(hog.stdout()).isEqualTo("status=137\n");

      long t0 = System.nanoTime();
      OpenSsh.Result neighbour = ssh.ssh("other", "echo ok");
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(neighbour.stdout()).isEqualTo("ok\n");
      assertThat(took).isLessThan(NEIGHBOUR_ANSWERS_WITHIN);
      // The agent of the hog's sandbox was not the one killed.
      assertThat(ssh.ssh("demo", "echo alive").stdout()).isEqualTo("alive\n");
      Eventually.until(
          "the gateway logs the memory limit with the sandbox id",
          Timeouts.EVENTUALLY,
          () -> log.count("sandbox demo: memory limit (384 MiB) reached") > 0);
    }
  }

  private static String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
