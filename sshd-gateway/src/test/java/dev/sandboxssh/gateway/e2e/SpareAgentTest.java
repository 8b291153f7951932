package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.routing.LocalSandboxProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spare agents (local.spare-agents): the first login to a sandbox whose agent is not running takes
 * the agent started ahead, which then is that sandbox's in every way a user can see. A sandbox that
 * holds files is mounted as the spare's home, idmapped (local.idmapped-homes), or, with that off,
 * gives its files to the spare's uid, unless it holds too many; either way not while a process of
 * its uid still runs. The gateway starts the next spare, and removes them all when it stops.
 */
@Tag("e2e")
class SpareAgentTest {
  @TempDir Path dir;

  @Test
  void sandboxesThatHoldFilesTakeTheSpareThroughAnIdmappedMountOfTheirHome() throws Exception {
    Path sandboxes = Files.createDirectories(dir.resolve("data").resolve("sandboxes"));
    try (LogCapture log = LogCapture.of(LocalSandboxProvider.class.getName());
        GatewayFixture gateway =
            GatewayFixture.start(dir, c -> c.withLocal(c.local().withSpareAgents(1)))) {
      LocalSandboxProvider local = gateway.app().localProvider();
      Supplier<String> said = () -> String.join("\n", log.messages());
      int first = (int) gateway.config().local().uidRange().first();

      // A sandbox with more files than are ever given one by one, its own uid's, as an idle stop
      // leaves it.
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "a spare agent to be ready");
      Path spare = onlySpare(sandboxes);
      int spareUid = uid(spare);
      int usedUid = first + 200;
      gateway.addSandbox("used", GatewayFixture.OWNER);
      Path usedDir = Files.createDirectory(gateway.sandboxDir("used"));
      Files.createDirectories(usedDir.resolve("proj/src"));
      Files.writeString(usedDir.resolve("proj/src/a.c"), "int a;\n");
      Files.createSymbolicLink(usedDir.resolve("proj/host"), Path.of("/etc/hostname"));
      for (int i = 0; i < LocalSandboxProvider.MAX_FILES_TO_REOWN; i++) {
        Files.createFile(usedDir.resolve("f" + i));
      }
      List<Path> before;
      try (Stream<Path> tree = Files.walk(usedDir)) {
        before = tree.toList();
      }
      for (Path f : before) {
        chown(f, usedUid);
      }

      OpenSsh.Result used =
          gateway
              .ssh()
              .ssh(
                  "used",
                  "hostname; id -un; cat proj/src/a.c; ls | wc -l; readlink proj/host;"
                      + " find ~ ! -user user | wc -l; grep -c ' /home/user .*idmapped' "
                      + "/proc/self/mountinfo; echo more > proj/new; mkdir made");
      assertThat(used.stdout())
          .as(used.stderr())
          .isEqualTo(
              "used\nuser\nint a;\n"
                  + (LocalSandboxProvider.MAX_FILES_TO_REOWN + 1)
                  + "\n/etc/hostname\n0\n1\n");
      // A new sandbox's login right after, while the next spare is still starting: it waits for
      // that spare, rather than start a second JVM beside it.
      gateway.addSandbox("soon", GatewayFixture.OWNER);
      OpenSsh.Result soon = gateway.ssh().ssh("soon", "hostname");
      assertThat(soon.stdout()).as(soon.stderr()).isEqualTo("soon\n");
      assertThat(bwrapOf(local, "soon")).contains("--hostname .spare-");

      assertThat(bwrapOf(local, "used")).contains("--hostname " + spare.getFileName() + " ");
      assertThat(said.get()).contains("sandbox=used", "its home mounted idmapped");
      // Nothing on disk changed hands; what the agent made is the sandbox's uid's too.
      try (Stream<Path> tree = Files.walk(usedDir)) {
        assertThat(tree.toList())
            .as("every file of used, old and new, is still its uid's on the host")
            .hasSize(before.size() + 2)
            .allSatisfy(f -> assertThat(uid(f)).as(f.toString()).isEqualTo(usedUid));
      }
      // The spare's directory holds the uid its agent runs as; no mount stays on the host.
      Path held = sandboxes.resolve(".uid-used");
      assertThat(uid(held)).isEqualTo(spareUid);
      assertThat(spare).doesNotExist();
      // (The next spare's directory may be bound already, for the sandbox it takes.)
      String bound = sandboxes.toRealPath().toString();
      assertThat(HostMounts.under(dir))
          .contains(bound)
          .allMatch(
              m -> m.equals(bound) || m.startsWith(bound + "/.spare-"),
              "sandboxes/ itself, or a spare's directory");

      // A process of the sandbox's uid still runs (its last stop has not finished): its own
      // agent starts, as that uid, rather than a second one on the same files.
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "the next spare to be ready");
      Path next = onlySpare(sandboxes);
      busySandboxStartsItsOwnAgent(gateway, local, said, next);

      // The agent serves used as any agent does: a second login sees what the first made.
      OpenSsh.Result again = gateway.ssh().ssh("used", "cat proj/new");
      assertThat(again.stdout()).as(again.stderr()).isEqualTo("more\n");
    }
    assertThat(spares(sandboxes)).as("spares removed with the gateway").isEmpty();
    assertThat(sandboxes.resolve(".uid-used")).as("uid freed as its agent stopped").doesNotExist();
    assertThat(HostMounts.under(dir)).as("mounts gone with the gateway").isEmpty();
  }

  @Test
  void withoutIdmappedHomesSandboxesGiveTheirFilesToTheSpareUnlessTooMany() throws Exception {
    // Deep enough, wherever the checkout is, that a spare's socket path passes the 107 bytes of
    // sun_path: the gateway connects through a handle on the socket, not by its path.
    Path deep = Files.createDirectories(dir.resolve("a-long-data-dir-".repeat(4)));
    // As a gateway stopped half-way through a take leaves it: some files still in the sandbox's
    // directory, the others already in .taking-ID. The next gateway puts them back.
    Path sandboxes = Files.createDirectories(deep.resolve("data").resolve("sandboxes"));
    Files.writeString(Files.createDirectory(sandboxes.resolve("back")).resolve("stayed"), "1\n");
    Files.writeString(
        Files.createDirectory(sandboxes.resolve(".taking-back")).resolve("moved"), "2\n");
    try (LogCapture log = LogCapture.of(LocalSandboxProvider.class.getName());
        GatewayFixture gateway =
            GatewayFixture.start(
                deep, c -> c.withLocal(c.local().withSpareAgents(1).withIdmappedHomes(false)))) {
      LocalSandboxProvider local = gateway.app().localProvider();
      // A spare that never comes says why in the failure: the provider's log.
      Supplier<String> said = () -> String.join("\n", log.messages());
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "a spare agent to be ready");
      Path spare = onlySpare(sandboxes);
      Path spareSocket =
          sandboxes.resolveSibling("run").resolve(spare.getFileName()).resolve("agent/agent.sock");
      assertThat(spareSocket.toString().length()).isGreaterThan(107);
      int spareUid = uid(spare);

      // demo has never run: its first login takes the spare, renamed to it.
      OpenSsh.Result fresh =
          gateway
              .ssh()
              .ssh(
                  GatewayFixture.SANDBOX,
                  "hostname; cat /etc/hostname; grep -c ' demo$' /etc/hosts; id -un; pwd;"
                      + " echo kept > ~/mark");
      assertThat(fresh.stdout()).as(fresh.stderr()).isEqualTo("demo\ndemo\n1\nuser\n/home/user\n");
      assertThat(spare).doesNotExist();
      Path demo = gateway.sandboxDir(GatewayFixture.SANDBOX);
      assertThat(demo.resolve("mark")).hasContent("kept");
      assertThat(uid(demo)).isEqualTo(spareUid);
      assertThat(bwrapOf(local, GatewayFixture.SANDBOX))
          .as("the agent demo runs is the one started as " + spare.getFileName())
          .contains("--hostname " + spare.getFileName() + " ");

      // The next spare: another directory, another uid.
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "the next spare to be ready");
      Path next = onlySpare(sandboxes);
      assertThat(uid(next)).isNotEqualTo(spareUid);

      // A sandbox that already holds files (an agent of its had stopped) takes the next spare:
      // its files are given to the spare's uid and moved into the spare's directory.
      gateway.addSandbox("used", GatewayFixture.OWNER);
      Path usedDir = gateway.sandboxDir("used");
      Files.createDirectories(usedDir.resolve("proj/src"));
      Files.writeString(usedDir.resolve("notes"), "mine\n");
      Files.writeString(usedDir.resolve("proj/src/a.c"), "int a;\n");
      Files.createSymbolicLink(usedDir.resolve("proj/host"), Path.of("/etc/hostname"));
      int nextUid = uid(next);
      OpenSsh.Result used =
          gateway
              .ssh()
              .ssh(
                  "used",
                  "hostname; cat notes proj/src/a.c; ls -A ~; readlink proj/host;"
                      + " find ~ ! -user user | wc -l; echo more > proj/new");
      assertThat(used.stdout())
          .as(used.stderr())
          .isEqualTo("used\nmine\nint a;\nnotes\nproj\n/etc/hostname\n0\n");
      assertThat(bwrapOf(local, "used")).contains("--hostname " + next.getFileName() + " ");
      assertThat(next).doesNotExist();
      assertThat(sandboxes.resolve(".taking-used")).doesNotExist();
      try (Stream<Path> tree = Files.walk(usedDir)) {
        assertThat(tree.toList())
            .as("every file of used is the spare's uid's on the host")
            .hasSize(7)
            .allSatisfy(f -> assertThat(uid(f)).as(f.toString()).isEqualTo(nextUid));
      }
      // The link itself was given, not what it points to.
      assertThat(uid(Path.of("/etc/hostname"))).isZero();

      // Too many files to give one by one (with its directory, one entry over the limit): the
      // sandbox starts an agent of its own, as its uid.
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "a third spare to be ready");
      Path third = onlySpare(sandboxes);
      gateway.addSandbox("big", GatewayFixture.OWNER);
      Path bigDir = Files.createDirectory(gateway.sandboxDir("big"));
      for (int i = 0; i < LocalSandboxProvider.MAX_FILES_TO_REOWN; i++) {
        Files.createFile(bigDir.resolve("f" + i));
      }
      OpenSsh.Result big = gateway.ssh().ssh("big", "hostname; ls | wc -l");
      assertThat(big.stdout())
          .as(big.stderr())
          .isEqualTo("big\n" + LocalSandboxProvider.MAX_FILES_TO_REOWN + "\n");
      assertThat(bwrapOf(local, "big")).contains("--hostname big ");
      assertThat(third).as("the spare is still there for the next sandbox").isDirectory();
      assertThat(local.readySpares()).isEqualTo(1);

      // A process of the sandbox's uid still runs: walking its tree as it changes could follow a
      // link it swapped in, so the sandbox starts its own agent, as that uid.
      Path busyDir = busySandboxStartsItsOwnAgent(gateway, local, said, third);
      assertThat(List.of(uid(bigDir), uid(third), uid(usedDir), uid(busyDir), spareUid))
          .as("each sandbox and the spare have uids of their own")
          .doesNotHaveDuplicates();

      // What an earlier gateway left half-taken is back in its sandbox.
      assertThat(sandboxes.resolve(".taking-back")).doesNotExist();
      gateway.addSandbox("back", GatewayFixture.OWNER);
      OpenSsh.Result back = gateway.ssh().ssh("back", "cat stayed moved");
      assertThat(back.stdout()).as(back.stderr()).isEqualTo("1\n2\n");

      // The renamed agent serves demo as any agent does: a second login sees its file.
      OpenSsh.Result again = gateway.ssh().ssh(GatewayFixture.SANDBOX, "cat mark");
      assertThat(again.stdout()).as(again.stderr()).isEqualTo("kept\n");
    }
    assertThat(spares(sandboxes)).as("spares removed with the gateway").isEmpty();
  }

  /**
   * Logs in to a new sandbox, busy, whose files are a uid's of the range while a process of that
   * uid runs: its own agent starts, as that uid, and {@code spare} stays for the next sandbox.
   * Returns the sandbox's directory.
   */
  private static Path busySandboxStartsItsOwnAgent(
      GatewayFixture gateway, LocalSandboxProvider local, Supplier<String> said, Path spare)
      throws Exception {
    gateway.addSandbox("busy", GatewayFixture.OWNER);
    Path busyDir = Files.createDirectory(gateway.sandboxDir("busy"));
    Files.writeString(busyDir.resolve("notes"), "busy\n");
    int busyUid = (int) gateway.config().local().uidRange().first() + 100;
    chown(busyDir, busyUid);
    chown(busyDir.resolve("notes"), busyUid);
    Process running = runAs(busyUid);
    try {
      Eventually.until(
          said,
          Timeouts.EVENTUALLY,
          () ->
              !running.isAlive() || uid(Path.of("/proc", Long.toString(running.pid()))) == busyUid,
          "a process of uid " + busyUid + " to run");
      assertThat(running.isAlive()).as("setpriv ran sleep as " + busyUid).isTrue();
      OpenSsh.Result busy = gateway.ssh().ssh("busy", "hostname; cat notes");
      assertThat(busy.stdout()).as(busy.stderr()).isEqualTo("busy\nbusy\n");
      assertThat(bwrapOf(local, "busy")).contains("--hostname busy ");
      assertThat(uid(busyDir)).isEqualTo(busyUid);
      assertThat(spare).isDirectory();
    } finally {
      running.destroyForcibly().waitFor();
    }
    return busyDir;
  }

  /** A process of {@code uid}'s that runs till it is killed. */
  private static Process runAs(int uid) throws IOException {
    return new ProcessBuilder(
            "setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "sleep", "300")
        .start();
  }

  private static void chown(Path path, int uid) throws IOException {
    Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(path, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
  }

  private static Path onlySpare(Path sandboxes) {
    List<Path> found = spares(sandboxes);
    assertThat(found).as("spare directories in " + sandboxes).hasSize(1);
    return found.get(0);
  }

  private static List<Path> spares(Path sandboxes) {
    try (Stream<Path> dirs = Files.list(sandboxes)) {
      return dirs.filter(d -> d.getFileName().toString().startsWith(".spare-")).toList();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static int uid(Path path) {
    try {
      return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      throw new AssertionError("no owner for " + path, e);
    }
  }

  /** The command line of the bwrap process the gateway launched for sandbox {@code id}. */
  private static String bwrapOf(LocalSandboxProvider local, String id) throws IOException {
    long pid = local.launchedPid(id).orElseThrow();
    String argv =
        new String(
            Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
            StandardCharsets.UTF_8);
    // The launch chain (unshare, bash, setpriv) ends in an exec of bwrap in the same process.
    assertThat(argv).contains("bwrap");
    return argv.replace('\0', ' ');
  }
}
