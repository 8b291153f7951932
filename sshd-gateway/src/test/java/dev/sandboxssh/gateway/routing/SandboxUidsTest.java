package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

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
}
