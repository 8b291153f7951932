package dev.sandboxssh.agent.fs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.sdk.Files;
import dev.sandboxssh.sdk.WriteOptions;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Under {@code --root}, no path leads out of the sandbox: not with `..` (relative or absolute), not
 * through a symlink to a file or directory outside, chained or in a middle component, whatever the
 * operation. Each attempt must fail with AccessDeniedException and leave the outside intact.
 */
class ConfinementTest {
  @TempDir static Path tmp;
  private static RootedAgentFixture agent;
  private static Files files;

  /**
   * The directory outside the sandbox as the last attempt left it; at first as the fixture made it.
   */
  private static Map<String, Entry> outsideBefore;

  /** An operation attempted on an escaping path. */
  interface Op {
    void run(Files files, String path) throws Exception;
  }

  @BeforeAll
  static void start() throws Exception {
    agent = RootedAgentFixture.rooted(tmp);
    files = agent.sandbox().files();
    Path dir = agent.sandboxDir();
    Path outside = agent.outsideDir();
    java.nio.file.Files.writeString(dir.resolve("inside.txt"), "inside");
    // What a process inside the sandbox could plant.
    java.nio.file.Files.createSymbolicLink(dir.resolve("link-file"), outside.resolve("secret.txt"));
    java.nio.file.Files.createSymbolicLink(
        dir.resolve("link-rel"), Path.of("../outside/secret.txt"));
    java.nio.file.Files.createSymbolicLink(dir.resolve("link-dir"), outside);
    java.nio.file.Files.createSymbolicLink(dir.resolve("chain1"), Path.of("chain2"));
    java.nio.file.Files.createSymbolicLink(dir.resolve("chain2"), Path.of("link-rel"));
    java.nio.file.Files.createSymbolicLink(dir.resolve("chain-dir"), Path.of("link-dir"));
    java.nio.file.Files.createDirectories(dir.resolve("sub/deeper"));
    java.nio.file.Files.createSymbolicLink(dir.resolve("sub/up"), Path.of("../.."));
    outsideBefore = snapshot(outside);
    assertThat(outsideBefore)
        .containsOnlyKeys("", "secret.txt", "secret-dir", "secret-dir/inner.txt")
        .allSatisfy((name, entry) -> assertThat(entry.ctime()).isNotNull());
    assertThat(outsideBefore.get("secret-dir/inner.txt").content())
        .isEqualTo(RootedAgentFixture.SECRET);
  }

  @AfterEach
  void outsideIsUntouched() throws Exception {
    Map<String, Entry> before = outsideBefore;
    Map<String, Entry> now = snapshot(agent.outsideDir());
    // Later attempts are compared with this state, so that each change fails the attempt that
    // made it, and only that one.
    outsideBefore = now;
    List<String> changes = new ArrayList<>();
    for (String name : union(before.keySet(), now.keySet())) {
      if (!Objects.equals(before.get(name), now.get(name))) {
        changes.add("/" + name + ": " + before.get(name) + " -> " + now.get(name));
      }
    }
    assertThat(changes).as("changes outside the sandbox").isEmpty();
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  /** What an escape could change of one entry; the access time is left out (reads change it). */
  record Entry(
      String mode,
      Object uid,
      Object gid,
      Object nlink,
      Object ino,
      Object size,
      Object mtime,
      Object ctime,
      String content) {}

  /** Every entry under {@code top}, {@code top} itself included, by path relative to it. */
  static Map<String, Entry> snapshot(Path top) throws IOException {
    Map<String, Entry> entries = new TreeMap<>();
    try (Stream<Path> paths = java.nio.file.Files.walk(top)) {
      for (Path p : (Iterable<Path>) paths::iterator) {
        Map<String, Object> a =
            java.nio.file.Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
        String content =
            java.nio.file.Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                ? java.nio.file.Files.readString(p)
                : null;
        entries.put(
            top.relativize(p).toString(),
            new Entry(
                Integer.toOctalString((Integer) a.get("mode")),
                a.get("uid"),
                a.get("gid"),
                a.get("nlink"),
                a.get("ino"),
                a.get("size"),
                a.get("lastModifiedTime"),
                a.get("ctime"),
                content));
      }
    }
    return entries;
  }

  @AfterAll
  static void stop() {
    agent.close();
    agent = null;
  }

  /** Paths that name the secret file outside the sandbox, one way or another. */
  static List<String> fileEscapes() {
    String outside = agent.outsideDir().toString();
    String sandbox = agent.sandboxDir().toString();
    return List.of(
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        "sub/deeper/../../../outside/secret.txt",
        sandbox + "/../outside/secret.txt",
        outside + "/secret.txt",
        "link-file",
        "link-rel",
        "chain1",
        "link-dir/secret.txt",
        "chain-dir/secret.txt",
        "sub/up/outside/secret.txt",
        "/etc/passwd");
  }

  /** Paths that name the directory outside the sandbox. */
  static List<String> dirEscapes() {
    return List.of(
        "..",
        "../outside",
        agent.sandboxDir() + "/..",
        agent.outsideDir().toString(),
        "link-dir",
        "chain-dir",
        "link-dir/secret-dir",
        "sub/up",
        "/");
  }

  /** Paths of new names outside the sandbox. */
  static List<String> newNameEscapes() {
    return List.of(
        "../outside/new",
        agent.outsideDir() + "/new",
        "link-dir/new",
        "chain-dir/new",
        "sub/up/outside/new");
  }

  static Stream<Arguments> fileOps() {
    Op read = (f, p) -> f.readAll(p);
    Op readMiddle = (f, p) -> f.read(p, 2, 3).close();
    Op stat = Files::stat;
    Op overwrite = (f, p) -> f.writeAll(p, "pwned".getBytes(UTF_8));
    Op writeAtOffset = (f, p) -> f.writeAll(p, "pwned".getBytes(UTF_8), WriteOptions.at(0));
    Op chmod = (f, p) -> f.chmod(p, 0777);
    Op setTimes = (f, p) -> f.setTimes(p, FileTime.fromMillis(0), FileTime.fromMillis(1000));
    Op truncate = (f, p) -> f.truncate(p, 0);
    Op chown = (f, p) -> f.chown(p, 4242, 4242);
    Op statvfs = Files::statvfs;
    Op realpath = Files::realpath;
    Op hardLink = (f, p) -> f.link(p, "stolen-link");
    Op renameAway = (f, p) -> f.rename(p, "stolen", true);
    List<Op> ops =
        List.of(
            read,
            readMiddle,
            stat,
            overwrite,
            writeAtOffset,
            chmod,
            setTimes,
            truncate,
            chown,
            statvfs,
            realpath,
            hardLink,
            renameAway);
    List<String> names =
        List.of(
            "read",
            "readMiddle",
            "stat",
            "overwrite",
            "writeAtOffset",
            "chmod",
            "setTimes",
            "truncate",
            "chown",
            "statvfs",
            "realpath",
            "hardLink",
            "renameAway");
    return fileEscapes().stream()
        .flatMap(
            path ->
                java.util.stream.IntStream.range(0, ops.size())
                    .filter(i -> !(i >= 11 && isSymlinkItself(path)))
                    .mapToObj(i -> Arguments.of(names.get(i), path, ops.get(i))));
  }

  /** Hard-linking or renaming a symlink itself is allowed: it moves the link, not the target. */
  private static boolean isSymlinkItself(String path) {
    return List.of("link-file", "link-rel", "chain1").contains(path);
  }

  static Stream<Arguments> dirOps() {
    return dirEscapes().stream()
        .flatMap(
            path ->
                Stream.of(
                    Arguments.of("list", path, (Op) Files::list),
                    Arguments.of("stat", path, (Op) Files::stat),
                    Arguments.of(
                        "mkdir-p inside", path, (Op) (f, p) -> f.mkdir(p + "/x/y", true, 0755)),
                    Arguments.of(
                        "remove inside", path, (Op) (f, p) -> f.remove(p + "/secret.txt", false)),
                    Arguments.of("chmod", path, (Op) (f, p) -> f.chmod(p, 0700))));
  }

  static Stream<Arguments> newNameOps() {
    return newNameEscapes().stream()
        .flatMap(
            path ->
                Stream.of(
                    Arguments.of("create", path, (Op) (f, p) -> f.writeAll(p, new byte[] {1})),
                    Arguments.of("mkdir", path, (Op) (f, p) -> f.mkdir(p, false, 0755)),
                    Arguments.of("mkdir -p", path, (Op) (f, p) -> f.mkdir(p + "/a", true, 0755)),
                    Arguments.of(
                        "rename target", path, (Op) (f, p) -> f.rename("inside.txt", p, false)),
                    Arguments.of("symlink at", path, (Op) (f, p) -> f.symlink("inside.txt", p)),
                    Arguments.of("hard link at", path, (Op) (f, p) -> f.link("inside.txt", p))));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("fileOps")
  void fileEscapesAreDenied(String op, String path, Op operation) {
    assertDenied(operation, path);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("dirOps")
  void directoryEscapesAreDenied(String op, String path, Op operation) {
    assertDenied(operation, path);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("newNameOps")
  void newNamesOutsideAreDenied(String op, String path, Op operation) {
    assertDenied(operation, path);
  }

  private static void assertDenied(Op operation, String path) {
    assertThatThrownBy(() -> operation.run(files, path))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContaining("outside the sandbox root");
  }

  @Test
  void aSymlinkMadeThroughTheApiCannotBeFollowedOut() throws Exception {
    files.symlink(agent.outsideDir() + "/secret.txt", "made-link");
    files.symlink("../outside", "made-dir-link");

    assertDenied((f, p) -> f.readAll(p), "made-link");
    assertDenied((f, p) -> f.writeAll(p, new byte[] {1}), "made-link");
    assertDenied(Files::list, "made-dir-link");
    assertDenied((f, p) -> f.readAll(p), "made-dir-link/secret.txt");
    files.remove("made-link", false);
    files.remove("made-dir-link", false);
  }

  @Test
  void theSymlinksThemselvesCanBeExaminedAndRemoved() throws Exception {
    assertThat(files.lstat("link-file").isSymbolicLink()).isTrue();
    assertThat(files.readlink("link-dir")).isEqualTo(agent.outsideDir().toString());
    assertThat(files.list(".")).extracting(i -> i.name()).contains("link-file", "link-dir");

    files.symlink("../outside/secret.txt", "doomed");
    files.remove("doomed", true);

    assertThat(
            java.nio.file.Files.exists(
                agent.sandboxDir().resolve("doomed"), java.nio.file.LinkOption.NOFOLLOW_LINKS))
        .isFalse();
  }

  @Test
  void pathsThatStayInsideAreFine() throws Exception {
    String sandbox = agent.sandboxDir().toString();

    assertThat(files.readAll(sandbox + "/../sandbox/inside.txt"))
        .asString(UTF_8)
        .isEqualTo("inside");
    assertThat(files.readAll("sub/deeper/../../inside.txt")).asString(UTF_8).isEqualTo("inside");
    assertThat(files.realpath("sub/deeper/..")).isEqualTo(sandbox + "/sub");
  }

  @Test
  void symlinkLoopsFailWithoutHanging() throws Exception {
    files.symlink("loop-b", "loop-a");
    files.symlink("loop-a", "loop-b");

    assertThatThrownBy(() -> files.stat("loop-a"))
        .isInstanceOf(FileSystemException.class)
        .hasMessageContaining("too many levels of symbolic links");
  }
}
