package dev.sandboxssh.agent.fs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Turns a path as a client sent it into the real path the agent may touch.
 *
 * <p>Relative paths start at the sandbox user's home. With a root, the path is walked component by
 * component: each one is lstat-ed and symlinks are followed here, by this code, so that every
 * intermediate location can be checked against the root. Threat: a symlink planted inside the root
 * by a sandbox process (or `..`) that points at the host's files; the kernel would follow it
 * silently if the whole path were handed to open(2). The path returned contains no `..` and no
 * symlink except, when {@link Follow#NO} is asked, its last component.
 *
 * <p>Residual risk: between this walk and the operation a sandbox process can swap a directory for
 * a symlink (TOCTOU). Operations open their final component with NOFOLLOW where they can, but an
 * intermediate swap is not caught. The real confinement is the namespace the agent runs in; this
 * check is defence in depth for an agent running without one.
 */
public final class PathResolver {
  /** PATH_MAX on Linux: longer paths are malformed input, not something to walk. */
  static final int MAX_PATH_BYTES = 4096;

  /** As Linux's MAXSYMLINKS: more links than this in one resolution fail like ELOOP. */
  static final int MAX_SYMLINKS = 40;

  /** Whether the last component is followed when it is a symlink. */
  public enum Follow {
    YES,
    NO
  }

  private final Path root;
  private final Path home;

  /**
   * Resolves against {@code home}; with a non-null {@code root}, confines every path to it.
   *
   * @throws IOException when the root cannot be resolved to a real directory
   */
  public PathResolver(Path root, Path home) throws IOException {
    // The root's own real path, so that a symlink among its ancestors cannot confuse the checks.
    this.root = root == null ? null : root.toRealPath();
    this.home = home;
  }

  /** The sandbox user's home, which relative paths start from. */
  public Path home() {
    return home;
  }

  /**
   * The real path to operate on.
   *
   * @throws IllegalArgumentException when the path is empty, too long or contains NUL
   * @throws AccessDeniedException when it leads outside the root
   * @throws NoSuchFileException when an intermediate directory is missing
   * @throws NotDirectoryException when an intermediate component is not a directory
   * @throws FileSystemException when symlinks loop
   */
  public Path resolve(String path, Follow follow) throws IOException {
    validate(path);
    if (root == null) {
      // Unconfined: the kernel resolves, exactly as for the sandbox's own processes.
      return home.resolve(path);
    }
    return walk(path, follow, true);
  }

  /**
   * The canonical absolute path: symlinks resolved, `..` removed; the last component need not
   * exist. Confined to the root when there is one.
   */
  public Path realpath(String path) throws IOException {
    validate(path);
    return walk(path, Follow.YES, root != null);
  }

  private static void validate(String path) {
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException("path is empty");
    }
    if (path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("path contains a NUL byte");
    }
    if (path.getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
      throw new IllegalArgumentException(
          "path is longer than "
              + MAX_PATH_BYTES
              + " bytes (starts "
              + path.substring(0, 64)
              + ")");
    }
  }

  private Path walk(String original, Follow follow, boolean confine) throws IOException {
    Deque<String> pending = new ArrayDeque<>();
    if (!original.startsWith("/")) {
      push(pending, home.toString());
    }
    push(pending, original);
    // Components are appended in order; the front of `pending` is the next one to visit.
    Path current = Path.of("/");
    int links = 0;
    while (!pending.isEmpty()) {
      String name = pending.pollFirst();
      if (name.equals("..")) {
        current = current.getParent() == null ? current : current.getParent();
        checkInside(current, original, confine);
        continue;
      }
      Path next = current.resolve(name);
      checkInside(next, original, confine);
      boolean last = pending.isEmpty();
      if (last && follow == Follow.NO) {
        current = next;
        break;
      }
      BasicFileAttributes attrs;
      try {
        attrs = Files.readAttributes(next, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        if (last) {
          // A missing last component is fine: it may be about to be created.
          current = next;
          break;
        }
        throw new NoSuchFileException(original, null, "no such file or directory: " + next);
      }
      if (attrs.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) {
          throw new FileSystemException(original, null, "too many levels of symbolic links");
        }
        String target = Files.readSymbolicLink(next).toString();
        if (target.startsWith("/")) {
          current = Path.of("/");
        }
        pushFront(pending, target);
        continue;
      }
      if (!last && !attrs.isDirectory()) {
        throw new NotDirectoryException(original + " (" + next + " is not a directory)");
      }
      current = next;
    }
    if (confine && !current.startsWith(root)) {
      throw outside(original);
    }
    return current;
  }

  /**
   * While walking, a location may be inside the root or one of the root's own ancestors (an
   * absolute path walks down to the root through them; a symlink to "/" passes by "/"): anything
   * else is outside, and is refused before it is even looked at.
   */
  private void checkInside(Path location, String original, boolean confine)
      throws AccessDeniedException {
    if (confine && !location.startsWith(root) && !root.startsWith(location)) {
      throw outside(original);
    }
  }

  private AccessDeniedException outside(String original) {
    return new AccessDeniedException(original, null, "path leads outside the sandbox root");
  }

  private static void push(Deque<String> pending, String path) {
    for (String part : path.split("/")) {
      if (!part.isEmpty() && !part.equals(".")) {
        pending.addLast(part);
      }
    }
  }

  private static void pushFront(Deque<String> pending, String path) {
    String[] parts = path.split("/");
    for (int i = parts.length - 1; i >= 0; i--) {
      if (!parts[i].isEmpty() && !parts[i].equals(".")) {
        pending.addFirst(parts[i]);
      }
    }
  }
}
