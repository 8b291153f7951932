package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The mounts through which a spare agent takes a used sandbox's home without changing a file (Linux
 * 5.12 or later, as root): the spare's directory is bound onto itself as a shared mount before its
 * agent starts, so that the agent's mount namespace holds a slave of it; the sandbox's directory,
 * mounted there later with its owner's uid shown as the spare's (an idmapped mount), then appears
 * as the agent's home too.
 */
public final class Mounts {
  private static final long MS_BIND = 4096;
  private static final long MS_PRIVATE = 1 << 18;
  private static final long MS_SHARED = 1 << 20;
  private static final int MNT_DETACH = 2;
  private static final int ENOENT = 2;
  private static final int EINVAL = 22;

  // Syscall numbers shared by every architecture since Linux 5.2 (all but alpha).
  private static final long SYS_OPEN_TREE = 428;
  private static final long SYS_MOVE_MOUNT = 429;
  private static final long SYS_MOUNT_SETATTR = 442;
  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
  private static final int AT_EMPTY_PATH = 0x1000;
  private static final int OPEN_TREE_CLONE = 1;
  private static final int OPEN_TREE_CLOEXEC = 02000000;
  private static final int MOVE_MOUNT_F_EMPTY_PATH = 0x4;
  private static final long MOUNT_ATTR_NOSUID = 0x2;
  private static final long MOUNT_ATTR_NODEV = 0x4;
  private static final long MOUNT_ATTR_IDMAP = 0x00100000;

  /** sizeof(struct mount_attr): attr_set, attr_clr, propagation, userns_fd, each a u64. */
  private static final int MOUNT_ATTR_SIZE = 32;

  /** How long the helper that holds the idmapping's user namespace may take to enter it. */
  private static final Duration USERNS_WAIT = Duration.ofSeconds(5);

  private Mounts() {}

  private interface Calls extends Library {
    Calls C = Native.load("c", Calls.class);

    int mount(String source, String target, String type, NativeLong flags, Pointer data)
        throws LastErrorException;

    int umount2(String target, int flags) throws LastErrorException;

    NativeLong syscall(NativeLong number, Object... args) throws LastErrorException;
  }

  /**
   * Makes {@code dir} a mount point of its own that propagates nowhere: what is mounted below it
   * later shows in no other mount namespace that copied its parent (on a host whose root is shared,
   * as systemd makes it, that would be every service's). True when it bound {@code dir} onto
   * itself; false when {@code dir} already was a mount point.
   */
  public static boolean ensurePrivateMount(Path dir) throws IOException {
    String at = dir.toAbsolutePath().toString();
    if (makePrivate(at)) {
      return false;
    }
    call("bind " + at + " onto itself", () -> Calls.C.mount(at, at, null, nl(MS_BIND), null));
    makePrivate(at);
    return true;
  }

  /**
   * Binds {@code dir} onto itself as a shared mount: a namespace that copies it (an agent's) keeps
   * a slave, which receives what is later mounted at {@code dir}.
   */
  public static void bindShared(Path dir) throws IOException {
    String at = dir.toAbsolutePath().toString();
    call("bind " + at + " onto itself", () -> Calls.C.mount(at, at, null, nl(MS_BIND), null));
    call("share " + at, () -> Calls.C.mount(null, at, null, nl(MS_SHARED), null));
  }

  /** What checks that a mount reached the namespace it was made for. */
  public interface Arrival {
    /** Whether the mount arrived. */
    boolean seen() throws IOException;
  }

  /**
   * Mounts {@code source} on {@code target}, a shared mount (see {@link #bindShared}), with files
   * of uid (and gid) {@code fromId} shown and created as {@code toId}'s, and no setuid or device
   * files honoured (other owners show as the overflow uid); nothing on disk changes. Once {@code
   * arrival} sees it in the namespaces that hold slaves of {@code target}, both are taken down on
   * the host, and those namespaces keep their copies.
   *
   * @throws IOException also when {@code arrival} did not see it; nothing stays mounted at {@code
   *     target} then either
   */
  public static void passIdmapped(Path source, Path target, int fromId, int toId, Arrival arrival)
      throws IOException {
    String to = target.toAbsolutePath().toString();
    // The shared mount itself, still reachable once covered: an unmount on top of it propagates
    // to its slaves' children (the copies that just arrived) for as long as it is shared.
    int below;
    try {
      below = Posix.C.open(to, Posix.O_PATH | Posix.O_NOFOLLOW | Posix.O_CLOEXEC);
    } catch (LastErrorException e) {
      throw new IOException("cannot open " + to + ": " + reason(e), e);
    }
    try {
      mountIdmapped(source, to, fromId, toId);
      try {
        if (!arrival.seen()) {
          throw new IOException("the mount on " + to + " did not reach its namespaces");
        }
      } finally {
        makePrivate("/proc/self/fd/" + below);
        detachAll(target);
      }
    } finally {
      Posix.C.close(below);
    }
  }

  private static void mountIdmapped(Path source, String to, int fromId, int toId)
      throws IOException {
    int userns = idmapping(fromId, toId);
    int tree = -1;
    try {
      String from = source.toAbsolutePath().toString();
      tree =
          syscall(
              "open " + from,
              SYS_OPEN_TREE,
              AT_FDCWD,
              from,
              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
      Memory attr = new Memory(MOUNT_ATTR_SIZE);
      attr.clear();
      attr.setLong(0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
      attr.setLong(24, userns);
      syscall(
          "idmap " + from,
          SYS_MOUNT_SETATTR,
          tree,
          "",
          AT_EMPTY_PATH,
          attr,
          new NativeLong(MOUNT_ATTR_SIZE));
      syscall(
          "mount " + from + " at " + to,
          SYS_MOVE_MOUNT,
          tree,
          "",
          AT_FDCWD,
          to,
          MOVE_MOUNT_F_EMPTY_PATH);
    } finally {
      if (tree >= 0) {
        Posix.C.close(tree);
      }
      Posix.C.close(userns);
    }
  }

  /**
   * Unmounts everything mounted at {@code dir}, top first; each is made private before, so that
   * namespaces holding copies of it (an agent's) keep theirs. A directory that is no mount point is
   * left as it is.
   */
  public static void detachAll(Path dir) throws IOException {
    String at = dir.toAbsolutePath().toString();
    // Bounded: a mount that comes back on every unmount would be somebody else's doing.
    for (int i = 0; i < 64; i++) {
      if (!detach(dir)) {
        return;
      }
    }
    throw new IOException(at + " is still a mount point after 64 unmounts");
  }

  /**
   * Unmounts the mount on top at {@code dir}, made private first so that the unmount reaches no
   * other namespace: false when {@code dir} is no mount point.
   */
  public static boolean detach(Path dir) throws IOException {
    String at = dir.toAbsolutePath().toString();
    if (!makePrivate(at)) {
      return false;
    }
    call("unmount " + at, () -> Calls.C.umount2(at, MNT_DETACH));
    return true;
  }

  /**
   * The id of the mount on top at {@code dir} (the first field of /proc/self/mountinfo; unique
   * while it stays mounted), or empty when {@code dir} is no mount point.
   */
  public static OptionalInt topMountId(Path dir) throws IOException {
    String at = dir.toRealPath().toString();
    OptionalInt top = OptionalInt.empty();
    // Lines come in mount order: of mounts stacked at one point, the last is on top.
    for (String line :
        Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
      String[] fields = line.split(" ");
      if (fields.length > 4 && unescape(fields[4]).equals(at)) {
        top = OptionalInt.of(Integer.parseInt(fields[0]));
      }
    }
    return top;
  }

  /** A mountinfo path: the kernel writes space, tab, newline and backslash as octal escapes. */
  private static String unescape(String field) {
    StringBuilder out = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && isOctal(field, i + 1)) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }

  /** Makes the mount at {@code at} private: false when {@code at} is no mount point, or absent. */
  private static boolean makePrivate(String at) throws IOException {
    try {
      Calls.C.mount(null, at, null, nl(MS_PRIVATE), null);
      return true;
    } catch (LastErrorException e) {
      if (e.getErrorCode() == EINVAL || e.getErrorCode() == ENOENT) {
        return false;
      }
      throw new IOException("cannot make " + at + " private: " + reason(e), e);
    }
  }

  /**
   * A user namespace that maps {@code fromId} to {@code toId}, for an idmapped mount: held by a
   * helper process just long enough to open it. Root writes the maps from outside, so the helper
   * itself needs no privilege.
   */
  private static int idmapping(int fromId, int toId) throws IOException {
    Process helper =
        new ProcessBuilder("unshare", "--user", "--", "sleep", "60")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      Path proc = Path.of("/proc", Long.toString(helper.pid()));
      Path ns = proc.resolve("ns/user");
      Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/user"));
      long deadline = System.nanoTime() + USERNS_WAIT.toNanos();
      while (Files.readSymbolicLink(ns).equals(own)) {
        if (!helper.isAlive() || System.nanoTime() > deadline) {
          throw new IOException("unshare --user did not make a user namespace");
        }
        LockSupport.parkNanos(100_000);
      }
      String map = Integer.toUnsignedString(fromId) + " " + Integer.toUnsignedString(toId) + " 1\n";
      Files.writeString(proc.resolve("uid_map"), map, StandardCharsets.US_ASCII);
      Files.writeString(proc.resolve("gid_map"), map, StandardCharsets.US_ASCII);
      try {
        return Posix.C.open(ns.toString(), Posix.O_CLOEXEC);
      } catch (LastErrorException e) {
        throw new IOException("cannot open " + ns + ": " + reason(e), e);
      }
    } finally {
      helper.destroyForcibly();
      try {
        helper.waitFor(USERNS_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static int syscall(String what, long number, Object... args) throws IOException {
    try {
      return Calls.C.syscall(new NativeLong(number), args).intValue();
    } catch (LastErrorException e) {
      throw new IOException("cannot " + what + ": " + reason(e), e);
    }
  }

  private interface Call {
    int run() throws LastErrorException;
  }

  private static void call(String what, Call call) throws IOException {
    try {
      call.run();
    } catch (LastErrorException e) {
      throw new IOException("cannot " + what + ": " + reason(e), e);
    }
  }

  private static String reason(LastErrorException e) {
    return e.getMessage(); // "[errno] what it means"
  }

  private static NativeLong nl(long value) {
    return new NativeLong(value);
  }
}
