package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;

/**
 * Claims on host uids that every gateway of the host sees: a write lock on the byte of a shared
 * file at the uid's offset, an open file description lock (Linux 3.15), which the kernel drops when
 * the gateway ends however it ends. Two gateways whose uid ranges meet then never run two sandboxes
 * as one uid, and two gateways in one JVM (tests) conflict as two processes do.
 *
 * <p>Threat: two sandboxes of one uid share what the kernel counts per uid (RLIMIT_NPROC, the right
 * to signal each other) and each other's files should one bind ever expose them.
 */
public final class UidClaims implements Closeable {
  /** The host's claims file: under /run, so a reboot, which ends every gateway, clears it. */
  public static final Path HOST = Path.of("/run/sandbox-ssh/uid-claims");

  private static final int F_OFD_SETLK = 37;
  private static final short F_WRLCK = 1;
  private static final short F_UNLCK = 2;
  private static final short SEEK_SET = 0;

  /** sizeof(struct flock): l_type and l_whence (shorts), l_start and l_len, l_pid (and padding). */
  private static final int FLOCK_SIZE = 32;

  private final Path file;
  private final Set<Long> held = new HashSet<>(); // guarded by this
  private int fd; // guarded by this; -1 once closed

  private UidClaims(Path file, int fd) {
    this.file = file;
    this.fd = fd;
  }

  /** Opens {@code file} (made, root's alone, with its directory, if missing) to claim uids in. */
  public static UidClaims open(Path file) throws IOException {
    Path dir = file.getParent();
    if (dir != null && !Files.isDirectory(dir)) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    try {
      // O_NOFOLLOW: a link put there would have root create or lock some other file.
      return new UidClaims(
          file,
          Posix.C.open(
              file.toString(),
              Posix.O_RDWR | Posix.O_CREAT | Posix.O_NOFOLLOW | Posix.O_CLOEXEC,
              0600));
    } catch (LastErrorException e) {
      throw new IOException("cannot open " + file + ": errno " + e.getErrorCode(), e);
    }
  }

  /**
   * Claims {@code uid} for this gateway: true when it holds the claim now (also when it held it
   * already), false when another gateway does.
   */
  public synchronized boolean claim(long uid) throws IOException {
    if (held.contains(uid)) {
      return true;
    }
    try {
      lock(uid, F_WRLCK);
    } catch (LastErrorException e) {
      if (e.getErrorCode() == Posix.EAGAIN || e.getErrorCode() == Posix.EACCES) {
        return false;
      }
      throw new IOException(
          "cannot claim uid " + uid + " in " + file + ": errno " + e.getErrorCode(), e);
    }
    held.add(uid);
    return true;
  }

  /** Gives up the claim on {@code uid}, if this gateway holds it. */
  public synchronized void release(long uid) throws IOException {
    if (!held.remove(uid)) {
      return;
    }
    try {
      lock(uid, F_UNLCK);
    } catch (LastErrorException e) {
      throw new IOException(
          "cannot release uid " + uid + " in " + file + ": errno " + e.getErrorCode(), e);
    }
  }

  /** The uids this gateway holds claims on. */
  public synchronized Set<Long> held() {
    return Set.copyOf(held);
  }

  private void lock(long uid, short type) {
    if (fd < 0) {
      throw new IllegalStateException("the uid claims are closed");
    }
    try (Memory flock = new Memory(FLOCK_SIZE)) {
      flock.clear();
      flock.setShort(0, type);
      flock.setShort(2, SEEK_SET);
      flock.setLong(8, uid);
      flock.setLong(16, 1);
      // l_pid stays 0, as open file description locks require.
      Posix.C.fcntl(fd, F_OFD_SETLK, flock);
    }
  }

  /** Gives up every claim of this gateway. */
  @Override
  public synchronized void close() {
    if (fd >= 0) {
      Posix.C.close(fd);
      fd = -1;
      held.clear();
    }
  }
}
