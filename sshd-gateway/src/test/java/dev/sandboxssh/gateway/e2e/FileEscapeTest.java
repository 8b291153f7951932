package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Attempts to read or write the gateway's own files (its database, its host keys) through sftp and
 * scp: with {@code ..}, with absolute host paths, and through a symlink that a process inside the
 * sandbox planted. Each must fail and leak nothing, under bubblewrap and with the agent only
 * confined by {@code --root}.
 */
@Tag("e2e")
class FileEscapeTest {
  @TempDir static Path bwrapDir;
  @TempDir static Path rootedDir;
  static GatewayFixture bwrap;
  static GatewayFixture rooted;

  @BeforeAll
  static void start() throws Exception {
    bwrap = GatewayFixture.start(bwrapDir);
    rooted =
        GatewayFixture.start(
            rootedDir, Timeouts.AGENT_CONNECT.multipliedBy(4), GatewayConfig.Isolation.OFF);
    for (GatewayFixture g : List.of(bwrap, rooted)) {
      Path db = gatewayDb(g);
      Path key = hostKey(g);
      // A process in the sandbox plants links to the gateway's files (it knows their host paths).
      String plant =
          "ln -s "
              + db
              + " ~/db-link && ln -s "
              + db.getParent()
              + " ~/data-link && ln -s "
              + key
              + " ~/key-link";
      OpenSsh.Result r = g.ssh().ssh(GatewayFixture.SANDBOX, plant);
      assertThat(r.exitCode()).as(r.stderr()).isZero();
    }
  }

  @AfterAll
  static void stop() {
    bwrap.close();
    rooted.close();
  }

  static Path gatewayDb(GatewayFixture g) throws Exception {
    Path db = g.config().dataDir().resolve("gateway.db");
    assertThat(db).as("the gateway's database").exists();
    return db;
  }

  static Path hostKey(GatewayFixture g) throws Exception {
    try (Stream<Path> keys = Files.list(g.config().keysDir())) {
      return keys.filter(p -> !p.toString().endsWith(".pub")).findFirst().orElseThrow();
    }
  }

  static Stream<Arguments> fixtures() {
    return Stream.of(Arguments.of("bwrap"), Arguments.of("rooted"));
  }

  static GatewayFixture fixture(String name) {
    return name.equals("bwrap") ? bwrap : rooted;
  }

  /** Remote paths that name the gateway's database or host key from inside the sandbox. */
  static List<String> readAttempts(GatewayFixture g) throws Exception {
    Path db = gatewayDb(g);
    Path key = hostKey(g);
    String dotdots = "../".repeat(30);
    return List.of(
        db.toString(),
        key.toString(),
        dotdots + db,
        "/.." + db,
        "db-link",
        "data-link/gateway.db",
        "key-link");
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void sftpCannotReadTheGatewaysFiles(String name) throws Exception {
    GatewayFixture g = fixture(name);
    Path out = Files.createTempDirectory(name + "-sftp");
    FileClients clients = new FileClients(g.ssh(), out);
    for (String attempt : readAttempts(g)) {
      Path local = out.resolve("leak");
      OpenSsh.Result r = clients.sftpBatch(GatewayFixture.SANDBOX, "get " + attempt + " " + local);
      assertThat(r.exitCode()).as("%s: %s", attempt, FileClients.describe(r)).isNotZero();
      assertThat(r.stderr())
          .as(attempt)
          .containsAnyOf("No such file", "not found", "Permission denied");
      assertThat(local).as(attempt).doesNotExist();
    }
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void legacyScpCannotReadTheGatewaysFiles(String name) throws Exception {
    GatewayFixture g = fixture(name);
    Path out = Files.createTempDirectory(name + "-scp");
    FileClients clients = new FileClients(g.ssh(), out);
    for (String attempt : readAttempts(g)) {
      Path local = out.resolve("leak");
      OpenSsh.Result r =
          clients.scp(
              List.of("-O"), GatewayFixture.SANDBOX + "@127.0.0.1:" + attempt, local.toString());
      assertThat(r.exitCode()).as("%s: %s", attempt, FileClients.describe(r)).isNotZero();
      assertThat(local).as(attempt).doesNotExist();
    }
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void cannotWriteIntoTheDataDir(String name) throws Exception {
    GatewayFixture g = fixture(name);
    Path dataDir = g.config().dataDir();
    Path out = Files.createTempDirectory(name + "-put");
    Path payload = Files.writeString(out.resolve("payload"), "planted\n");
    FileClients clients = new FileClients(g.ssh(), out);
    List<String> targets =
        List.of(
            dataDir.resolve("planted").toString(),
            "../".repeat(30) + dataDir.resolve("planted"),
            "data-link/planted");
    for (String target : targets) {
      OpenSsh.Result r = clients.sftpBatch(GatewayFixture.SANDBOX, "put " + payload + " " + target);
      assertThat(r.exitCode()).as("%s: %s", target, FileClients.describe(r)).isNotZero();
      OpenSsh.Result scp =
          clients.scp(
              List.of("-O"), payload.toString(), GatewayFixture.SANDBOX + "@127.0.0.1:" + target);
      assertThat(scp.exitCode()).as("%s: %s", target, FileClients.describe(scp)).isNotZero();
    }
    assertThat(dataDir.resolve("planted")).doesNotExist();
  }
}
