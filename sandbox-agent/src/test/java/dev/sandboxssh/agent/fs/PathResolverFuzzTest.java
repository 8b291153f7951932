package dev.sandboxssh.agent.fs;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.testing.AllocationBudget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;

/**
 * No path string a client sends leads {@link PathResolver} out of the agent's {@code --root},
 * whatever symlinks a sandbox process planted first; and what it returns is what it documents: an
 * absolute path without {@code .} or {@code ..} and without symlinks (but for a last component
 * asked with {@link PathResolver.Follow#NO}), and for {@link PathResolver#realpath} the canonical
 * path. Failures are IOExceptions or IllegalArgumentExceptions (the agent's status mapping turns
 * anything else into INTERNAL).
 *
 * <p>An input is UTF-8 text. Each line but the last (at most four) is the target of a symlink a
 * sandbox process plants as {@code ROOT/p/0}, {@code ROOT/p/1}...; the last line is the client's
 * path, resolved following its last component, or not when it starts with {@code !}, or through
 * {@code realpath} when it starts with {@code ?}. In both, {@code %R}, {@code %H}, {@code %O} and
 * {@code %T} stand for the root, the home inside it, a directory beside the root holding a secret,
 * and the directory holding both, so that absolute paths in and out are in the fuzzer's reach.
 * Seeds ({@code PathResolverFuzzTestInputs/resolve/}): the escapes of ConfinementTest and more.
 */
class PathResolverFuzzTest {
  private static final int MAX_LINKS = 4;

  private static final AllocationBudget budget = AllocationBudget.thisThread(16 << 20);

  private static final Path base;
  private static final Path root;
  private static final Path home;
  private static final Path outside;
  private static final Path planted;
  private static final PathResolver resolver;

  static {
    try {
      base = Files.createTempDirectory("fuzz-resolver").toRealPath();
      root = Files.createDirectories(base.resolve("sandbox"));
      home = Files.createDirectories(root.resolve("home/user"));
      outside = Files.createDirectories(base.resolve("outside"));
      Files.writeString(outside.resolve("secret.txt"), "host secret\n");
      Files.createDirectories(outside.resolve("secret-dir"));
      // A sibling whose name starts with the root's: a string-prefix check would let it in.
      Path evil = Files.createDirectories(base.resolve("sandbox-evil"));
      Files.writeString(evil.resolve("x"), "evil\n");
      layOut();
      planted = Files.createDirectories(root.resolve("p"));
      resolver = new PathResolver(root, home);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What a sandbox's processes could have left in it: files, and symlinks in and out. */
  private static void layOut() throws IOException {
    Files.writeString(root.resolve("a"), "a");
    Files.createDirectories(root.resolve("d/e"));
    Files.writeString(root.resolve("d/e/f"), "f");
    Files.writeString(home.resolve(".profile"), "");
    link("link-out-abs", outside.resolve("secret.txt").toString());
    link("link-out-rel", "../outside/secret.txt");
    link("link-dir-out", outside.toString());
    link("link-root", "/");
    link("link-up", "..");
    link("link-evil", "../sandbox-evil");
    link("link-in", "d/e/f");
    link("link-abs-in", root.resolve("d").toString());
    link("link-self", ".");
    link("loop1", "loop2");
    link("loop2", "loop1");
    link("dangling", "no/such/thing");
    link("home/user/up", "../../..");
    link("d/e/back", "../../link-dir-out");
  }

  private static void link(String name, String target) throws IOException {
    Files.createSymbolicLink(root.resolve(name), Path.of(target));
  }

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom).
  @Timeout(value = 5, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  @DictionaryEntries({
    "%R",
    "%H",
    "%O",
    "%T",
    "..",
    "/",
    "link-out-abs",
    "link-out-rel",
    "link-dir-out",
    "link-root",
    "link-up",
    "link-evil",
    "link-in",
    "link-abs-in",
    "link-self",
    "loop1",
    "dangling",
    "up",
    "back",
    "secret.txt",
    "sandbox",
    "sandbox-evil",
    "p/0",
    "p/1"
  })
  void resolve(byte[] input) throws Exception {
    String[] lines = new String(input, StandardCharsets.UTF_8).split("\n", -1);
    List<Path> links = new ArrayList<>();
    try {
      for (int i = 0; i < lines.length - 1 && i < MAX_LINKS; i++) {
        plant(links, i, expand(lines[i]));
      }
      String last = lines[lines.length - 1];
      budget.run("resolving " + input.length + " bytes", () -> check(last));
    } finally {
      for (Path link : links) {
        Files.deleteIfExists(link);
      }
    }
    assertThat(planted).isEmptyDirectory();
  }

  private static void plant(List<Path> links, int i, String target) throws IOException {
    Path link = planted.resolve(Integer.toString(i));
    try {
      Files.createSymbolicLink(link, Path.of(target));
    } catch (InvalidPathException | FileSystemException e) {
      return; // empty, a NUL, longer than PATH_MAX: no process could make such a link either
    }
    links.add(link);
  }

  private static String expand(String s) {
    return s.replace("%R", root.toString())
        .replace("%H", home.toString())
        .replace("%O", outside.toString())
        .replace("%T", base.toString());
  }

  private static void check(String line) throws IOException {
    boolean realpath = line.startsWith("?");
    PathResolver.Follow follow =
        line.startsWith("!") ? PathResolver.Follow.NO : PathResolver.Follow.YES;
    String path = expand(realpath || follow == PathResolver.Follow.NO ? line.substring(1) : line);
    Path resolved;
    try {
      resolved = realpath ? resolver.realpath(path) : resolver.resolve(path, follow);
    } catch (IOException | IllegalArgumentException e) {
      return; // refused: AccessDenied for an escape, NoSuchFile, NotDirectory, ELOOP, bad input
    }
    assertThat(resolved.isAbsolute()).as("%s -> %s is absolute", path, resolved).isTrue();
    assertThat(resolved.normalize())
        .as("%s -> %s has no . or ..", path, resolved)
        .isEqualTo(resolved);
    // Path.startsWith compares names; AssertJ's startsWith would resolve symlinks first.
    assertThat(resolved.startsWith(root))
        .as("%s -> %s is inside the root", path, resolved)
        .isTrue();
    // Where it really leads: the resolver walked every symlink itself, so the kernel must find the
    // same place. Only a last component asked not to be followed may be a symlink (to anywhere:
    // operations on it use NOFOLLOW), and a missing last component may be about to be created.
    boolean lastIsTheLinkItself = follow == PathResolver.Follow.NO && !realpath;
    if (!lastIsTheLinkItself && Files.exists(resolved, LinkOption.NOFOLLOW_LINKS)) {
      assertThat(resolved.toRealPath())
          .as("%s -> %s has no symlink in it", path, resolved)
          .isEqualTo(resolved);
    } else if (!resolved.equals(root)) {
      Path parent = resolved.getParent();
      assertThat(parent.toRealPath())
          .as("%s -> %s: its directory has no symlink", path, resolved)
          .isEqualTo(parent);
    }
  }

  /** Removes the fixture when the JVM ends (it lies under target/tmp in any case). */
  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try (Stream<Path> all = Files.walk(base)) {
                    all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                  } catch (IOException e) {
                    // best effort
                  }
                }));
  }
}
