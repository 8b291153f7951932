package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.routing.unix.UidClaims;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SandboxUidsTest {
  @TempDir Path dir;

  @Test
  void aTreeListsEachEntryOnceChildrenBeforeTheirDirectoryAndLinksUnfollowed() throws Exception {
    Path home = Files.createDirectory(dir.resolve("home"));
    Files.createDirectories(home.resolve("a/b"));
    Files.writeString(home.resolve("a/b/f"), "x");
    Files.writeString(home.resolve("g"), "y");
    Path outside = Files.createDirectory(dir.resolve("outside"));
    Files.writeString(outside.resolve("secret"), "z");
    Files.createSymbolicLink(home.resolve("link"), outside);

    List<Path> tree = SandboxUids.treeOf(home, 10).orElseThrow();

    assertThat(tree)
        .containsExactlyInAnyOrder(
            home,
            home.resolve("a"),
            home.resolve("a/b"),
            home.resolve("a/b/f"),
            home.resolve("g"),
            home.resolve("link"));
    assertThat(tree.get(tree.size() - 1)).isEqualTo(home);
    assertThat(tree.indexOf(home.resolve("a/b/f"))).isLessThan(tree.indexOf(home.resolve("a/b")));
    assertThat(tree.indexOf(home.resolve("a/b"))).isLessThan(tree.indexOf(home.resolve("a")));
  }

  @Test
  void aTreeOverTheLimitOrNotADirectoryIsNone() throws Exception {
    Path home = Files.createDirectory(dir.resolve("home"));
    for (int i = 0; i < 5; i++) {
      Files.createFile(home.resolve("f" + i));
    }
    assertThat(SandboxUids.treeOf(home, 6)).isPresent();
    assertThat(SandboxUids.treeOf(home, 5)).isEmpty();
    assertThat(SandboxUids.treeOf(home.resolve("f0"), 10)).isEmpty();
    Path link = Files.createSymbolicLink(dir.resolve("link"), home);
    assertThat(SandboxUids.treeOf(link, 10)).as("a link to a directory").isEmpty();
  }

  @Test
  void aProcessIsFoundByItsUid() throws Exception {
    int self = SandboxUids.ownerOf(Path.of("/proc/self"));
    assertThat(SandboxUids.anyProcessOf(self)).isTrue();
    // Near the top of the 32-bit uid space, where no account or sandbox range sits.
    assertThat(SandboxUids.anyProcessOf(Integer.MAX_VALUE - 7)).isFalse();
  }

  @Test
  void aProcessOfTheUidIsFoundAlsoWhenUndumpable() throws Exception {
    // As root (the tests' user): a process of a uid no one else runs, which then makes itself
    // undumpable (PR_SET_DUMPABLE is 4): the files in its /proc directory show as root's, the
    // directory keeps its uid, which is what anyProcessOf reads.
    int uid = 1_999_999_001;
    Process hidden = pythonAs(uid, "import ctypes\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n");
    try {
      Path proc = Path.of("/proc", Long.toString(hidden.pid()));
      assertThat(SandboxUids.ownerOf(proc.resolve("status")))
          .as("an undumpable process's /proc files")
          .isZero();
      assertThat(SandboxUids.ownerOf(proc)).as("its /proc directory").isEqualTo(uid);

      assertThat(SandboxUids.anyProcessOf(uid)).isTrue();
    } finally {
      hidden.destroyForcibly().waitFor();
    }
    assertThat(SandboxUids.anyProcessOf(uid)).as("once it has exited").isFalse();
  }

  @Test
  void gatewaysThatShareARangeGiveTheirSandboxesDifferentUids() throws Exception {
    // A range near the top of the 32-bit uid space, where no account or test sits.
    GatewayConfig.UidRange range = new GatewayConfig.UidRange(1_999_999_100L, 1_999_999_110L);
    Path claimsFile = dir.resolve("uid-claims");
    try (UidClaims claimsOne = UidClaims.open(claimsFile);
        UidClaims claimsOther = UidClaims.open(claimsFile)) {
      SandboxUids one = new SandboxUids(range, claimsOne);
      SandboxUids other = new SandboxUids(range, claimsOther);
      Path a = sandbox("one", "a");
      Path b = sandbox("other", "b");

      assertThat(one.uidFor(a)).isEqualTo(1_999_999_100);
      assertThat(other.uidFor(b)).isEqualTo(1_999_999_101);
      assertThat(SandboxUids.ownerOf(b)).isEqualTo(1_999_999_101);
      assertThat(SandboxUids.ownerOf(b.resolve("notes"))).isEqualTo(1_999_999_101);
      assertThat(one.uidFor(a)).as("its own uid, asked again").isEqualTo(1_999_999_100);

      // A directory whose owner another gateway has claimed since (this gateway restarted, say)
      // is given a uid of its own.
      Path c = sandbox("other", "c");
      SandboxUids.chownTree(c, 1_999_999_100);
      assertThat(other.uidFor(c)).isEqualTo(1_999_999_102);
      assertThat(SandboxUids.ownerOf(c.resolve("notes"))).isEqualTo(1_999_999_102);

      // A sandbox deleted: its uid's claim goes at the gateway's next hand-out.
      Files.delete(b.resolve("notes"));
      Files.delete(b);
      sandbox("other", "d");
      assertThat(other.uidFor(dir.resolve("other/sandboxes/d"))).isEqualTo(1_999_999_101);
      assertThat(claimsOther.held()).containsExactlyInAnyOrder(1_999_999_101L, 1_999_999_102L);
    }
  }

  @Test
  void aUidSomeProcessRunsAsIsNotHandedOut() throws Exception {
    // The processes of a sandbox whose gateway was killed: no claim holds their uid any more.
    int busy = 1_999_999_200;
    GatewayConfig.UidRange range = new GatewayConfig.UidRange(busy, busy + 10L);
    Process running = pythonAs(busy, "");
    try (UidClaims claims = UidClaims.open(dir.resolve("uid-claims"))) {
      SandboxUids uids = new SandboxUids(range, claims);

      assertThat(uids.uidFor(sandbox("data", "new"))).isEqualTo(busy + 1);
      assertThat(claims.held()).containsExactly(busy + 1L);
    } finally {
      running.destroyForcibly().waitFor();
    }
  }

  /**
   * A python3 process of {@code uid}'s (as root, the tests' user, sets it) that runs {@code setup},
   * then sleeps till it is killed; returned once it has said it is ready.
   */
  private static Process pythonAs(int uid, String setup) throws IOException {
    Process p =
        new ProcessBuilder(
                "setpriv",
                "--reuid=" + uid,
                "--regid=" + uid,
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                setup + "import time\nprint('ready', flush=True)\ntime.sleep(120)")
            .redirectErrorStream(true)
            .start();
    String line =
        new String(p.getInputStream().readNBytes("ready".length()), StandardCharsets.UTF_8);
    if (!line.equals("ready")) {
      p.destroyForcibly();
    }
    assertThat(line).as("the helper's output").isEqualTo("ready");
    return p;
  }

  /** A sandbox's directory, with a file, under {@code data}'s sandboxes, owned by root. */
  private Path sandbox(String data, String id) throws IOException {
    Path sandbox = Files.createDirectories(dir.resolve(data).resolve("sandboxes").resolve(id));
    Files.writeString(sandbox.resolve("notes"), id);
    return sandbox;
  }
}
