package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** rsync over ssh, an sshfs mount and {@code git clone} over ssh against a sandbox. */
@Tag("e2e")
class RsyncSshfsTest {
  @TempDir static Path dir;
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

  private static OpenSsh.Result run(List<String> argv, Map<String, String> env) {
    List<String> withEnv = new ArrayList<>(List.of("env"));
    env.forEach((k, v) -> withEnv.add(k + "=" + v));
    withEnv.addAll(argv);
    return OpenSsh.run(withEnv, new byte[0], Timeouts.TRANSFER);
  }

  @Test
  void rsyncCopiesATreeBothWays() throws Exception {
    Path src = Files.createDirectories(dir.resolve("rs-src/deep"));
    FileClients.randomFile(src.resolve("data.bin"), 4 << 20, 11);
    Files.setLastModifiedTime(
        src.resolve("data.bin"), FileTime.from(Instant.parse("2021-02-03T04:05:06Z")));
    String rsync = OpenSsh.binary("rsync");
    String remote = GatewayFixture.SANDBOX + "@127.0.0.1:";
    OpenSsh.Result up =
        run(
            List.of(
                rsync,
                "-a",
                "-e",
                clients.rsyncShell(),
                dir.resolve("rs-src") + "/",
                remote + "rs"),
            Map.of());
    assertThat(up.exitCode()).as(FileClients.describe(up)).isZero();
    assertThat(FileClients.sha256(home.resolve("rs/deep/data.bin")))
        .isEqualTo(FileClients.sha256(src.resolve("data.bin")));
    OpenSsh.Result down =
        run(
            List.of(
                rsync,
                "-a",
                "-e",
                clients.rsyncShell(),
                remote + "rs/",
                dir.resolve("rs-back") + "/"),
            Map.of());
    assertThat(down.exitCode()).as(FileClients.describe(down)).isZero();
    Path back = dir.resolve("rs-back/deep/data.bin");
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(src.resolve("data.bin")));
    assertThat(Files.getLastModifiedTime(back).toInstant())
        .isEqualTo(Instant.parse("2021-02-03T04:05:06Z"));
  }

  @Test
  void gitClonesARepositoryCreatedInTheSandbox() {
    OpenSsh.Result init =
        gateway
            .ssh()
            .ssh(
                GatewayFixture.SANDBOX,
                "git init -q repo && cd repo && echo hi > f && git add f"
                    + " && git -c user.email=t@example.com -c user.name=t commit -qm first");
    assertThat(init.exitCode()).as(FileClients.describe(init)).isZero();
    OpenSsh.Result clone =
        run(
            List.of(
                OpenSsh.binary("git"),
                "clone",
                "-q",
                GatewayFixture.SANDBOX + "@127.0.0.1:repo",
                dir.resolve("clone").toString()),
            Map.of("GIT_SSH_COMMAND", clients.rsyncShell()));
    assertThat(clone.exitCode()).as(FileClients.describe(clone)).isZero();
    assertThat(dir.resolve("clone/f")).hasContent("hi");
  }

  @Test
  void sshfsMountReadsWritesRenamesLinksAndTruncates() throws Exception {
    Path mount = Files.createDirectories(dir.resolve("mnt"));
    gateway.writeInSandbox(
        GatewayFixture.SANDBOX,
        "from-sandbox.txt",
        "inside\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    OpenSsh.Result mounted =
        OpenSsh.run(
            List.of(
                OpenSsh.binary("sshfs"),
                GatewayFixture.SANDBOX + "@127.0.0.1:",
                mount.toString(),
                "-o",
                "ssh_command=" + clients.rsyncShell()),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(mounted.exitCode()).as(FileClients.describe(mounted)).isZero();
    try {
      assertThat(mount.resolve("from-sandbox.txt")).hasContent("inside");
      Files.writeString(mount.resolve("written.txt"), "0123456789");
      assertThat(home.resolve("written.txt")).hasContent("0123456789");
      Files.move(mount.resolve("written.txt"), mount.resolve("renamed.txt"));
      assertThat(home.resolve("renamed.txt")).hasContent("0123456789");
      Files.createSymbolicLink(mount.resolve("link"), Path.of("renamed.txt"));
      assertThat(Files.readSymbolicLink(home.resolve("link"))).hasToString("renamed.txt");
      try (var ch =
          Files.newByteChannel(
              mount.resolve("renamed.txt"), java.nio.file.StandardOpenOption.WRITE)) {
        ch.truncate(4);
      }
      assertThat(home.resolve("renamed.txt")).hasContent("0123");
    } finally {
      OpenSsh.run(
          List.of(OpenSsh.binary("fusermount"), "-u", mount.toString()),
          new byte[0],
          Timeouts.COMMAND);
    }
  }
}
