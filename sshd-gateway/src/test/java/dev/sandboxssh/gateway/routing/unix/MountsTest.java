package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Idmapped mounts as a spare agent's take uses them; needs root, as the gateway does. */
class MountsTest {
  private static final int OLD_UID = 300_700;
  private static final int NEW_UID = 300_701;

  @TempDir Path dir;

  @Test
  void filesShowAsTheNewUidsAndWhatItCreatesIsStoredAsTheOldUidsAndNothingStaysMounted()
      throws Exception {
    Path home = sandboxHome();
    Path spare = Files.createDirectory(dir.resolve("spare"));
    Mounts.bindShared(spare);

    Mounts.passIdmapped(
        home,
        spare,
        OLD_UID,
        NEW_UID,
        () -> {
          assertThat(uid(spare.resolve("notes"))).isEqualTo(NEW_UID);
          // The spare's uid writes through the mount; the disk gets the sandbox's.
          run(
              "setpriv",
              "--reuid=" + NEW_UID,
              "--regid=" + NEW_UID,
              "--clear-groups",
              "touch",
              spare.resolve("made").toString());
          return true;
        });

    assertThat(uid(home.resolve("made"))).isEqualTo(OLD_UID);
    assertThat(uid(home.resolve("notes"))).isEqualTo(OLD_UID);
    assertThat(mountPoints()).doesNotContain(spare.toString());
    assertThat(spare.resolve("notes")).doesNotExist();
  }

  @Test
  void aNamespaceThatHeldASlaveKeepsItsCopyOnceTheHostsIsGone() throws Exception {
    Path home = sandboxHome();
    Path spare = Files.createDirectory(dir.resolve("spare"));
    Mounts.bindShared(spare);
    // As an agent's namespace copies the host's: its copy of the spare is a slave.
    Process holder =
        new ProcessBuilder("unshare", "--mount", "--propagation", "slave", "--", "sleep", "60")
            .start();
    try {
      Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt"));
      Path ns = Path.of("/proc", Long.toString(holder.pid()), "ns", "mnt");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (Files.readSymbolicLink(ns).equals(own) && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      Path seen = Path.of("/proc/" + holder.pid() + "/root" + spare.resolve("notes"));

      Mounts.passIdmapped(home, spare, OLD_UID, NEW_UID, () -> Files.exists(seen));

      assertThat(mountPoints()).doesNotContain(spare.toString());
      assertThat(seen).as("the namespace's copy").hasContent("mine\n");
      assertThat(uid(seen)).isEqualTo(NEW_UID);
    } finally {
      holder.destroyForcibly().waitFor();
    }
  }

  @Test
  void aMountThatDidNotArriveIsTakenDownAndSaidSo() throws Exception {
    Path home = sandboxHome();
    Path spare = Files.createDirectory(dir.resolve("spare"));
    Mounts.bindShared(spare);

    assertThatThrownBy(() -> Mounts.passIdmapped(home, spare, OLD_UID, NEW_UID, () -> false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("did not reach");

    assertThat(mountPoints()).doesNotContain(spare.toString());
    assertThat(home.resolve("notes")).hasContent("mine\n");
  }

  @Test
  void detachingTakesDownEveryStackedMountAndLeavesAPlainDirectoryAlone() throws Exception {
    Path plain = Files.createDirectory(dir.resolve("plain"));
    Files.writeString(plain.resolve("kept"), "1");
    Mounts.detachAll(plain);
    Mounts.detachAll(dir.resolve("absent"));
    assertThat(plain.resolve("kept")).hasContent("1");

    Path stacked = Files.createDirectory(dir.resolve("stacked"));
    assertThat(Mounts.topMountId(stacked)).isEmpty();
    Mounts.bindShared(stacked);
    int lower = Mounts.topMountId(stacked).orElseThrow();
    Mounts.bindShared(stacked);
    assertThat(Mounts.topMountId(stacked)).isPresent().isNotEqualTo(OptionalInt.of(lower));
    Mounts.detach(stacked);
    assertThat(Mounts.topMountId(stacked)).as("the one below, on top now").hasValue(lower);
    Mounts.bindShared(stacked);
    Mounts.detachAll(stacked);
    assertThat(mountPoints()).doesNotContain(stacked.toString());
    assertThat(Mounts.topMountId(stacked)).isEmpty();

    assertThat(Mounts.ensurePrivateMount(plain)).as("bound now").isTrue();
    assertThat(Mounts.ensurePrivateMount(plain)).as("already a mount point").isFalse();
    Mounts.detachAll(plain);
    assertThat(mountPoints()).doesNotContain(plain.toString());
  }

  @Test
  void aMountPointIsFoundByItsPathAlsoWhereMountinfoEscapesIt() throws Exception {
    // mountinfo writes a space as \040 and a backslash as \134.
    Path odd = Files.createDirectory(dir.resolve("a data dir\\x"));
    assertThat(Mounts.topMountId(odd)).isEmpty();
    assertThat(Mounts.ensurePrivateMount(odd)).isTrue();
    try {
      assertThat(Mounts.topMountId(odd)).isPresent();
      assertThat(Mounts.topMountId(dir)).as("its parent, no mount point").isEmpty();
    } finally {
      Mounts.detachAll(odd);
    }
    assertThat(Mounts.topMountId(odd)).isEmpty();
  }

  /** A used sandbox's directory: its files its old uid's, as after an idle stop. */
  private Path sandboxHome() throws IOException {
    // The sandbox's uid reaches the mount through here, as through the data dir's sandboxes/.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path home = Files.createDirectory(dir.resolve("home"));
    Files.writeString(home.resolve("notes"), "mine\n");
    for (Path p : List.of(home.resolve("notes"), home)) {
      Files.setAttribute(p, "unix:uid", OLD_UID, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(p, "unix:gid", OLD_UID, LinkOption.NOFOLLOW_LINKS);
    }
    return home;
  }

  private static List<String> mountPoints() throws IOException {
    // Field 5 of each line; this test's paths hold nothing mountinfo escapes.
    return Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8).stream()
        .map(line -> line.split(" ")[4])
        .toList();
  }

  private static int uid(Path path) throws IOException {
    return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  private static void run(String... command) throws IOException {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
