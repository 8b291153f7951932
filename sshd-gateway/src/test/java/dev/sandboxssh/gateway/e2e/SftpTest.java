package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.bridge.files.SandboxFileSystemProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OpenSSH's {@code sftp -b} against the gateway's SFTP server on a sandbox with a real agent. */
@Tag("e2e")
class SftpTest {
  private static final long BIG = 32L << 20;
  // Longer than the 30 s that MINA's buffered streams wait for a client by default.
  private static final Duration PAUSE = Duration.ofSeconds(35);

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static FileClients clients;
  static Path home;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    clients = new FileClients(gateway.ssh(), dir);
    home = gateway.sandboxDir(GatewayFixture.SANDBOX);
    // The first session creates the sandbox's directory.
    OpenSsh.Result r = gateway.ssh().ssh(GatewayFixture.SANDBOX, "true");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void putsAndGets32MiBWithEqualHashes() throws Exception {
    Path local = FileClients.randomFile(dir.resolve("big.bin"), BIG, 1);
    Path back = dir.resolve("big.back");
    OpenSsh.Result r =
        clients.sftpBatch(
            GatewayFixture.SANDBOX, "put " + local + " big.bin", "get big.bin " + back);
    assertThat(r.exitCode()).as(FileClients.describe(r)).isZero();
    assertThat(FileClients.sha256(home.resolve("big.bin"))).isEqualTo(FileClients.sha256(local));
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(local));
  }

  @Test
  void resumesDownloadAndUploadAtAnOffset() throws Exception {
    Path local = FileClients.randomFile(dir.resolve("resume.bin"), 3 << 20, 2);
    byte[] all = Files.readAllBytes(local);
    // Half of each file is already there: reget and reput must only add the rest.
    gateway.writeInSandbox(
        GatewayFixture.SANDBOX, "resume-up.bin", java.util.Arrays.copyOf(all, 1 << 20));
    gateway.writeInSandbox(GatewayFixture.SANDBOX, "resume-down.bin", all);
    Path partial = dir.resolve("resume-down.local");
    Files.write(partial, java.util.Arrays.copyOf(all, 1 << 20));
    OpenSsh.Result r =
        clients.sftpBatch(
            GatewayFixture.SANDBOX,
            "reput " + local + " resume-up.bin",
            "reget resume-down.bin " + partial);
    assertThat(r.exitCode()).as(FileClients.describe(r)).isZero();
    assertThat(FileClients.sha256(home.resolve("resume-up.bin")))
        .isEqualTo(FileClients.sha256(local));
    assertThat(FileClients.sha256(partial)).isEqualTo(FileClients.sha256(local));
  }

  @Test
  void managesFilesLikeSftpServer() throws Exception {
    gateway.writeInSandbox(
        GatewayFixture.SANDBOX, "notes.txt", "hello\n".getBytes(StandardCharsets.UTF_8));
    OpenSsh.Result r =
        clients.sftpBatch(
            GatewayFixture.SANDBOX,
            "mkdir work",
            "rename notes.txt work/notes.txt",
            "symlink work/notes.txt link.txt",
            "chmod 640 work/notes.txt",
            "ls -l work",
            "mkdir gone",
            "rmdir gone",
            "put " + Files.createFile(dir.resolve("empty.txt")) + " empty.txt",
            "rm empty.txt",
            "cd /home/user",
            "pwd",
            "cd work",
            "pwd",
            "df -h",
            "ls -l /nonexistent-dir");
    // The batch's last command fails on purpose; everything before it must have passed.
    assertThat(r.exitCode()).as(FileClients.describe(r)).isEqualTo(1);
    assertThat(Files.readString(home.resolve("work/notes.txt"))).isEqualTo("hello\n");
    assertThat(Files.readSymbolicLink(home.resolve("link.txt"))).hasToString("work/notes.txt");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(home.resolve("work/notes.txt"))))
        .isEqualTo("rw-r-----");
    assertThat(home.resolve("gone")).doesNotExist();
    assertThat(home.resolve("empty.txt")).doesNotExist();
    assertThat(r.stdout()).contains("-rw-r-----").contains("notes.txt");
    // bwrap mounts the sandbox's directory as /home/user.
    assertThat(r.stdout()).contains("Remote working directory: /home/user\n");
    assertThat(r.stdout()).contains("Remote working directory: /home/user/work\n");
    assertThat(r.stdout()).contains("Size").contains("Avail");
    assertThat(r.stderr()).contains("\"/nonexistent-dir\" not found");
  }

  @Test
  void refusalsCarryStatusesAVersion3ClientKnows() throws Exception {
    // sftp speaks SFTP version 3, which defines status codes 0 to 8; sshd's sftp-server answers
    // these with "Failure" and "No such file or directory".
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.bridge.files")) {
      OpenSsh.Result r =
          clients.sftpBatch(
              GatewayFixture.SANDBOX,
              "mkdir twice",
              "-mkdir twice",
              "put " + Files.writeString(dir.resolve("inside.txt"), "x") + " twice/inside.txt",
              "-rmdir twice",
              "-rm twice/inside.txt/below",
              "-chmod 600 /etc/hostname",
              "rm twice/inside.txt",
              "rmdir twice");
      assertThat(r.exitCode()).as(FileClients.describe(r)).isZero();
      assertThat(r.stderr())
          .contains("remote mkdir \"/home/user/twice\": Failure")
          .contains("remote rmdir \"/home/user/twice\": Failure")
          .contains("remote delete /home/user/twice/inside.txt/below: No such file or directory")
          // A read-only bind mount in the sandbox.
          .contains("remote setstat \"/etc/hostname\": Permission denied")
          .doesNotContain("Unknown status");
      // Refusals are the client's business: none is a warning in the gateway's log.
      assertThat(log.messages()).noneSatisfy(m -> assertThat(m).contains("/etc/hostname"));
    }
  }

  @Test
  void keepsModesAndTimesWithPreserve() throws Exception {
    Path tree = Files.createDirectories(dir.resolve("tree/sub"));
    Path script = Files.writeString(tree.resolve("run.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
    Instant old = Instant.parse("2020-01-02T03:04:05Z");
    Files.setLastModifiedTime(script, FileTime.from(old));
    Path back = dir.resolve("tree-back");
    OpenSsh.Result r =
        clients.sftpBatch(
            GatewayFixture.SANDBOX,
            "put -r -p " + dir.resolve("tree") + " tree",
            "get -r -p tree " + back);
    assertThat(r.exitCode()).as(FileClients.describe(r)).isZero();
    for (Path copy : new Path[] {home.resolve("tree/sub/run.sh"), back.resolve("sub/run.sh")}) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)))
          .as(copy.toString())
          .isEqualTo("rwxr-x---");
      assertThat(Files.getLastModifiedTime(copy).toInstant()).as(copy.toString()).isEqualTo(old);
    }
  }

  @Test
  void changesOwnerToItsOwnIdsAndRefusesAnyOther() throws Exception {
    Path owned =
        gateway.writeInSandbox(
            GatewayFixture.SANDBOX, "owned.txt", "x".getBytes(StandardCharsets.UTF_8));
    Object hostUid = Files.getAttribute(owned, "unix:uid");
    OpenSsh.Result mine =
        clients.sftpBatch(GatewayFixture.SANDBOX, "chown 1000 owned.txt", "chgrp 1000 owned.txt");
    assertThat(mine.exitCode()).as(FileClients.describe(mine)).isZero();

    // The sandbox's user namespace maps one uid: any other owner is refused, as chown(2) by an
    // ordinary user is, and the file keeps its owner.
    OpenSsh.Result other = clients.sftpBatch(GatewayFixture.SANDBOX, "chown 4242 owned.txt");
    assertThat(other.exitCode()).as(FileClients.describe(other)).isEqualTo(1);
    assertThat(other.stderr().strip())
        .isEqualTo("remote setstat \"/home/user/owned.txt\": Failure");
    assertThat(Files.getAttribute(owned, "unix:uid")).isEqualTo(hostUid);
    assertThat(Files.getAttribute(owned, "unix:gid")).isEqualTo(hostUid);
  }

  @Test
  void showsPermissionDeniedAndNoSuchFile() throws Exception {
    // The host's system directories are mounted read-only into the sandbox.
    Path payload = Files.writeString(dir.resolve("payload.txt"), "x\n");
    OpenSsh.Result r =
        clients.sftpBatch(
            GatewayFixture.SANDBOX,
            "-get missing.txt " + dir.resolve("x"),
            "put " + payload + " /usr/planted.txt");
    assertThat(r.exitCode()).as(FileClients.describe(r)).isNotZero();
    assertThat(r.stderr()).contains("missing.txt").containsIgnoringCase("not found");
    assertThat(r.stderr()).containsIgnoringCase("Permission denied");
    assertThat(Path.of("/usr/planted.txt")).doesNotExist();
  }

  @Test
  void releasesEveryHandleWhenTheClientIsKilledMidDownload() throws Exception {
    FileClients.randomFile(home.resolve("huge.bin"), 256L << 20, 3);
    Path batch =
        Files.writeString(
            dir.resolve("kill.batch"), "get huge.bin " + dir.resolve("huge.part") + "\n");
    Process sftp = OpenSsh.start(clients.sftpCommand(GatewayFixture.SANDBOX, batch));
    SandboxFileSystemProvider provider = SandboxFileSystemProvider.shared();
    try {
      awaitTrue(() -> provider.openCount() > 0, "the download to open a handle");
      awaitTrue(
          () -> Files.exists(dir.resolve("huge.part")) && Files.size(dir.resolve("huge.part")) > 0,
          "bytes to arrive");
    } finally {
      sftp.destroyForcibly();
      sftp.waitFor(10, TimeUnit.SECONDS);
    }
    assertThat(Files.size(dir.resolve("huge.part"))).isLessThan(256L << 20);
    awaitTrue(() -> provider.openCount() == 0, "every handle to be released");
  }

  @Test
  void aDownloadPausedForLongerThanHalfAMinuteFinishes() throws Exception {
    Path remote = FileClients.randomFile(home.resolve("paused.bin"), 256L << 20, 4);
    Path back = dir.resolve("paused.back");
    Path batch = Files.writeString(dir.resolve("pause.batch"), "get paused.bin " + back + "\n");
    Process sftp = OpenSsh.start(clients.sftpCommand(GatewayFixture.SANDBOX, batch));
    try {
      // Past OpenSSH's ramp of requests: 64 of them in flight, more replies than the window holds.
      awaitTrue(() -> Files.exists(back) && Files.size(back) > (32L << 20), "32 MiB to arrive");
      // sftp alone stops, as under ^Z or a stalled disk: its ssh goes on answering keepalives,
      // and the gateway's replies back up behind a closed window for longer than 30 s.
      signal(sftp.pid(), "STOP");
      Thread.sleep(PAUSE.toMillis());
      signal(sftp.pid(), "CONT");
      assertThat(sftp.waitFor(Timeouts.TRANSFER.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(sftp.exitValue()).isZero();
    } finally {
      sftp.destroyForcibly();
    }
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(remote));
  }

  private static void signal(long pid, String name) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).start();
    assertThat(kill.waitFor()).as("kill -%s %d", name, pid).isZero();
  }

  interface Check {
    boolean holds() throws Exception;
  }

  static void awaitTrue(Check check, String what) throws Exception {
    long deadline = System.nanoTime() + Timeouts.EVENTUALLY.toNanos();
    while (!check.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }
}
