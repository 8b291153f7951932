package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many channels on one connection (ControlMaster) and many connections at once. */
@Tag("e2e")
class ConcurrencyTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void controlMasterRunsTenCommandsOverOneConnection() throws IOException {
    // A short directory: a unix socket path holds at most 107 bytes, and %C alone is 40.
    Path sockets = Files.createTempDirectory(Path.of("/tmp"), "cm");
    String[] mux = {
      "-o", "ControlMaster=auto",
      "-o", "ControlPath=" + sockets + "/cm-%C",
      "-o", "ControlPersist=30"
    };
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.session")) {
      for (int i = 0; i < 10; i++) {
        OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "echo cmd-" + i + "; exit " + i, mux);
        assertThat(r.stdout()).as(r.stderr()).isEqualTo("cmd-" + i + "\n");
        assertThat(r.exitCode()).isEqualTo(i);
      }
      assertThat(log.count("session start:")).as("%s", log.messages()).isEqualTo(1);

      List<String> exit = new ArrayList<>(List.of(mux));
      exit.addAll(List.of("-O", "exit"));
      OpenSsh.Result r =
          ssh.ssh(
              GatewayFixture.SANDBOX,
              null,
              new byte[0],
              Timeouts.COMMAND,
              exit.toArray(String[]::new));
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      Eventually.until(
          () -> log.messages().toString(),
          Timeouts.EVENTUALLY,
          () -> log.count("session end:") == 1,
          "the master's one session ended");
      assertThat(log.messages().stream().filter(m -> m.startsWith("session end:")).findFirst())
          .hasValueSatisfying(m -> assertThat(m).contains("exec, exec, exec"));
    } finally {
      try (var files = Files.list(sockets)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.delete(sockets);
    }
  }

  @Test
  void twentyParallelSessionsEachGetTheirOwnOutput() throws Exception {
    int n = 20;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.session")) {
      List<CompletableFuture<OpenSsh.Result>> runs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String id = Integer.toString(i);
        runs.add(
            CompletableFuture.supplyAsync(
                () ->
                    ssh.ssh(
                        GatewayFixture.SANDBOX,
                        "echo start-" + id + "; sleep 1; echo end-" + id + " >&2; exit " + id),
                pool));
      }
      for (int i = 0; i < n; i++) {
        OpenSsh.Result r = runs.get(i).get(Timeouts.TRANSFER.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.stdout()).as("session %d: %s", i, r.stderr()).isEqualTo("start-" + i + "\n");
        assertThat(r.stderr()).isEqualTo("end-" + i + "\n");
        assertThat(r.exitCode()).isEqualTo(i);
      }
      assertThat(log.count("session start:")).isEqualTo(n);
    } finally {
      pool.shutdownNow();
    }
  }
}
