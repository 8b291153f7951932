package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.routing.unix.UidClaims;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Gives each local sandbox its own unprivileged host uid (and gid of the same number), from the
 * configured range, when the gateway runs as root. The owner of the sandbox's directory is the
 * record of which uid it has: no second table can drift from what the kernel enforces. A uid it
 * hands out is also claimed host-wide ({@link UidClaims}), so that gateways whose ranges meet, or
 * the sandboxes a killed gateway left running, never share one.
 *
 * <p>Threat: two sandboxes sharing a uid could read and signal each other's processes and files
 * should one bind ever expose them; a uid that is also a real account's would hand the sandbox that
 * account's files.
 */
final class SandboxUids {
  private final GatewayConfig.UidRange range;
  private final UidClaims claims; // null: none can be made, and the range is this gateway's alone

  SandboxUids(GatewayConfig.UidRange range, UidClaims claims) {
    this.range = range;
    this.claims = claims;
  }

  /**
   * The uid of the agent start-up cache's training run: the range's last, which no sandbox gets, so
   * the training sandbox shares its uid with none.
   */
  int trainingUid() {
    return (int) range.last();
  }

  /**
   * The uid of the sandbox whose directory is {@code sandboxDir}: the directory's owner when that
   * is in the range and no other sandbox, of this gateway or another, has it; else the lowest uid
   * of the range (but the training run's) that none has and no process runs as, given to the
   * directory and everything in it.
   */
  synchronized int uidFor(Path sandboxDir) throws IOException {
    Map<Integer, Path> taken = new HashMap<>();
    try (var dirs = Files.list(sandboxDir.getParent())) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        if (!dir.equals(sandboxDir) && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
          taken.putIfAbsent(ownerOf(dir), dir);
        }
      }
    }
    int current = ownerOf(sandboxDir);
    if (range.contains(current)
        && !taken.containsKey(current)
        && claim(Integer.toUnsignedLong(current))) {
      // A process of its own uid may be its last agent's, ending: the sandbox's own.
      releaseUnowned(taken.keySet(), Integer.toUnsignedLong(current));
      return current;
    }
    for (long uid = range.first(); uid < range.last(); uid++) {
      if (taken.containsKey((int) uid) || !claim(uid)) {
        continue;
      }
      if (anyProcessOf((int) uid)) {
        // A sandbox's of a gateway that was killed, whose claim went with it.
        release(uid);
        continue;
      }
      chownTree(sandboxDir, (int) uid);
      releaseUnowned(taken.keySet(), uid);
      return (int) uid;
    }
    throw new IOException(
        "no free uid left in local.uid-range "
            + range
            + " ("
            + taken.size()
            + " sandboxes here; the rest are other gateways' or run processes)");
  }

  private boolean claim(long uid) throws IOException {
    return claims == null || claims.claim(uid);
  }

  private void release(long uid) throws IOException {
    if (claims != null) {
      claims.release(uid);
    }
  }

  /**
   * Gives up the claims on uids that no directory of this gateway's has any more (a sandbox
   * deleted, a spare's uid freed), but {@code kept}'s.
   */
  private void releaseUnowned(Set<Integer> owned, long kept) throws IOException {
    if (claims == null) {
      return;
    }
    for (long uid : claims.held()) {
      if (uid != kept && !owned.contains((int) uid)) {
        claims.release(uid);
      }
    }
  }

  static int ownerOf(Path path) throws IOException {
    return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Gives {@code dir} and everything below it to {@code uid}. Links are changed themselves
   * (lchown), never followed: the tree is the sandbox's, and a link in it may point anywhere on the
   * host. The sandbox's agent is not running while this happens.
   */
  static void chownTree(Path dir, int uid) throws IOException {
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
              throws IOException {
            chown(d, uid);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
            chown(f, uid);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  /**
   * Every entry of the tree at {@code dir}, the directory last, or empty when it holds more than
   * {@code max} (the walk stops there) or is not a directory. Links are listed, never followed.
   */
  static Optional<List<Path>> treeOf(Path dir, int max) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    List<Path> entries = new ArrayList<>();
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
            entries.add(f);
            return entries.size() > max ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            entries.add(d);
            return entries.size() > max ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
          }
        });
    boolean whole =
        entries.size() <= max && !entries.isEmpty() && entries.get(entries.size() - 1).equals(dir);
    return whole ? Optional.of(entries) : Optional.empty();
  }

  /**
   * Whether any process runs as {@code uid}. Threat: a process of a sandbox's old uid could swap a
   * directory for a link while its tree is given to another uid, and have the walk follow it into
   * the host.
   *
   * <p>One stat per process: the kernel gives a process's /proc directory its effective uid, also
   * when it made itself undumpable (only the files inside then show as root's), and a sandbox's
   * processes have no other uid to switch to (one uid mapped, no_new_privs). Reading each process's
   * status instead costs the kernel about 0.2 ms a process, and on a host of many sandboxes most
   * processes are theirs. A zombie (exited, not yet collected by its parent) runs nothing and is
   * not counted.
   */
  static boolean anyProcessOf(int uid) throws IOException {
    return processOf(uid).isPresent();
  }

  /** A process that runs as {@code uid}, as {@link #anyProcessOf} finds it: its pid and command. */
  static Optional<String> processOf(int uid) throws IOException {
    try (var procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        try {
          if (ownerOf(proc) == uid && !exited(proc)) {
            return Optional.of(
                proc.getFileName()
                    + " ("
                    + Files.readString(proc.resolve("comm"), StandardCharsets.UTF_8).strip()
                    + ")");
          }
        } catch (IOException gone) {
          // Collected since the listing.
        }
      }
    }
    return Optional.empty();
  }

  /** Whether the process of {@code proc} (its /proc directory) has exited: a zombie, or dead. */
  private static boolean exited(Path proc) throws IOException {
    String stat = Files.readString(proc.resolve("stat"), StandardCharsets.US_ASCII);
    // "pid (comm) state ...": comm may hold spaces and parentheses, the state follows the last.
    int end = stat.lastIndexOf(')');
    char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : '?';
    return state == 'Z' || state == 'X';
  }

  static void chown(Path path, int uid) throws IOException {
    Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(path, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
  }
}
