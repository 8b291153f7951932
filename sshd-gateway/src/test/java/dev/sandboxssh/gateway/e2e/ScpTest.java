package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OpenSSH's {@code scp}, in its default SFTP mode and with {@code -O} (the legacy protocol). */
@Tag("e2e")
class ScpTest {
  @org.junit.jupiter.api.io.TempDir static Path dir;
  static GatewayFixture gateway;
  static FileClients clients;
  static Path home;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    clients = new FileClients(gateway.ssh(), dir);
    home = gateway.sandboxDir(GatewayFixture.SANDBOX);
    OpenSsh.Result r = gateway.ssh().ssh(GatewayFixture.SANDBOX, "true");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  private static String remote(String path) {
    return GatewayFixture.SANDBOX + "@127.0.0.1:" + path;
  }

  private static List<String> flags(String mode, String... more) {
    List<String> flags = new java.util.ArrayList<>(List.of(more));
    if (mode.equals("legacy")) {
      flags.add("-O");
    }
    return flags;
  }

  @ParameterizedTest
  @ValueSource(strings = {"sftp", "legacy"})
  void copies32MiBBothWaysWithEqualHashes(String mode) throws Exception {
    Path local = FileClients.randomFile(dir.resolve("big-" + mode), 32L << 20, 7);
    OpenSsh.Result up = clients.scp(flags(mode), local.toString(), remote("big-" + mode));
    assertThat(up.exitCode()).as(FileClients.describe(up)).isZero();
    assertThat(FileClients.sha256(home.resolve("big-" + mode)))
        .isEqualTo(FileClients.sha256(local));
    Path back = dir.resolve("back-" + mode);
    OpenSsh.Result down = clients.scp(flags(mode), remote("big-" + mode), back.toString());
    assertThat(down.exitCode()).as(FileClients.describe(down)).isZero();
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(local));
  }

  @ParameterizedTest
  @ValueSource(strings = {"sftp", "legacy"})
  void copiesTreesKeepingModesAndTimes(String mode) throws Exception {
    Path tree = Files.createDirectories(dir.resolve("tree-" + mode + "/inner"));
    Path file = Files.writeString(tree.resolve("tool"), "#!/bin/sh\necho hi\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx--x---"));
    Instant old = Instant.parse("2019-05-06T07:08:09Z");
    Files.setLastModifiedTime(file, FileTime.from(old));
    OpenSsh.Result up =
        clients.scp(
            flags(mode, "-r", "-p"),
            dir.resolve("tree-" + mode).toString(),
            remote("tree-" + mode));
    assertThat(up.exitCode()).as(FileClients.describe(up)).isZero();
    Path back = dir.resolve("tree-back-" + mode);
    OpenSsh.Result down =
        clients.scp(flags(mode, "-r", "-p"), remote("tree-" + mode), back.toString());
    assertThat(down.exitCode()).as(FileClients.describe(down)).isZero();
    for (Path copy :
        List.of(home.resolve("tree-" + mode + "/inner/tool"), back.resolve("inner/tool"))) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)))
          .as(copy.toString())
          .isEqualTo("rwx--x---");
      assertThat(Files.getLastModifiedTime(copy).toInstant()).as(copy.toString()).isEqualTo(old);
      assertThat(Files.readString(copy)).isEqualTo("#!/bin/sh\necho hi\n");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"sftp", "legacy"})
  void reportsAMissingFile(String mode) {
    OpenSsh.Result r =
        clients.scp(flags(mode), remote("no-such-file"), dir.resolve("none-" + mode).toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.stderr()).containsIgnoringCase("no such file");
    assertThat(dir.resolve("none-" + mode)).doesNotExist();
  }
}
