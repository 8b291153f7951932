package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files the gateway writes once for every agent to read or map (the agent jar, the start-up cache):
 * read-only, written aside and renamed into place so that no agent ever sees half a file, and the
 * ones of other builds removed.
 */
final class InstalledFiles {
  private static final Logger log = LoggerFactory.getLogger(InstalledFiles.class);

  /** The suffix of a file being written; {@link #removeOthers} globs name it. */
  static final String PARTIAL = ".partial";

  private InstalledFiles() {}

  /**
   * Writes {@code content} to {@code target}, read-only for everyone, and dated {@code modified}
   * unless that is null.
   */
  static void install(InputStream content, Path target, FileTime modified) throws IOException {
    Path partial = target.resolveSibling(target.getFileName() + PARTIAL);
    try {
      Files.copy(content, partial, StandardCopyOption.REPLACE_EXISTING);
      if (modified != null) {
        Files.setLastModifiedTime(partial, modified);
      }
      Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("r--r--r--"));
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(partial);
    }
  }

  /**
   * Deletes the regular files in {@code dir} whose names match {@code glob}, except {@code keep};
   * the number deleted. A failure is logged, not thrown: what stays only takes room, and an agent
   * that still runs from a deleted file keeps it open (or mapped) until it exits.
   */
  static int removeOthers(Path dir, String glob, Path keep) {
    int deleted = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, glob)) {
      for (Path p : files) {
        if (!p.getFileName().equals(keep.getFileName())
            && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
            && Files.deleteIfExists(p)) {
          deleted++;
        }
      }
    } catch (IOException e) {
      log.debug("old files in {} not removed: {}", dir, e.toString());
    }
    return deleted;
  }
}
