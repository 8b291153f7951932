package dev.sandboxssh.gateway.config;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The layout of a gateway's data directory.
 *
 * <pre>
 * gateway.db          the ownership table (SQLite, with -wal and -shm beside it)
 * sandboxes/ID/       a local sandbox's home directory
 * run/                agent sockets and token files (mode 0700)
 * </pre>
 *
 * @param root the data directory itself
 */
public record DataDir(Path root) {

  /** A sandbox id: a DNS label, so it is also a safe single path element. */
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rwx------");

  /** Rejects a null root. */
  public DataDir {
    if (root == null) {
      throw new IllegalArgumentException("data dir must not be null");
    }
  }

  /** The SQLite database file. */
  public Path database() {
    return root.resolve("gateway.db");
  }

  /** The directory that holds every local sandbox's home. */
  public Path sandboxes() {
    return root.resolve("sandboxes");
  }

  /**
   * The home directory of local sandbox {@code id}.
   *
   * @throws IllegalArgumentException when {@code id} is not a DNS label, so that no id can name a
   *     path outside {@link #sandboxes()}
   */
  public Path sandboxDir(String id) {
    if (!isSandboxId(id)) {
      throw new IllegalArgumentException("not a sandbox id: " + id);
    }
    return sandboxes().resolve(id);
  }

  /** Agent sockets and token files: readable by the gateway's user only. */
  public Path run() {
    return root.resolve("run");
  }

  /**
   * Creates the root, {@code sandboxes/} and {@code run/} when missing, mode 0700. An existing root
   * keeps its mode (it may be a directory the operator chose, such as {@code .}); {@code run/} is
   * always set to 0700 because agent tokens live there.
   */
  public DataDir create() throws IOException {
    for (Path dir : new Path[] {root, sandboxes()}) {
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir);
        restrict(dir);
      }
    }
    Files.createDirectories(run());
    restrict(run());
    return this;
  }

  /** Whether {@code id} is a valid sandbox id (a DNS label of 1..63 characters). */
  public static boolean isSandboxId(String id) {
    return id != null && DNS_LABEL.matcher(id).matches();
  }

  /**
   * Creates the home directory of a new local sandbox, mode 0700.
   *
   * @throws java.nio.file.FileAlreadyExistsException when it exists: a directory left from an
   *     earlier sandbox of the same id must not be handed to a new one, whose owner may differ
   */
  public Path createSandboxDir(String id) throws IOException {
    Path dir = sandboxDir(id);
    Files.createDirectories(sandboxes());
    Files.createDirectory(dir);
    restrict(dir);
    return dir;
  }

  /**
   * Deletes a local sandbox's home directory and everything in it; returns whether it existed.
   * Symbolic links inside are removed, never followed, so a sandbox cannot make this delete files
   * elsewhere; directories the sandbox made unreadable are opened up first.
   */
  public boolean deleteSandboxDir(String id) throws IOException {
    Path dir = sandboxDir(id);
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    deleteTree(dir);
    return true;
  }

  /**
   * Deletes {@code dir} and everything in it, if it exists. Symbolic links inside are removed,
   * never followed; directories made unreadable are opened up first.
   */
  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
              throws IOException {
            restrict(d);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
            Files.delete(f);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  /** Sets mode 0700 where the file system knows POSIX modes. */
  static void restrict(Path dir) throws IOException {
    if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      Files.setPosixFilePermissions(dir, OWNER_ONLY);
    }
  }
}
