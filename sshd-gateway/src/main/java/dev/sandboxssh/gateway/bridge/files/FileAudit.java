package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.gateway.session.SessionContext;
import java.nio.file.CopyOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.scp.common.ScpTransferEventListener;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.Handle;
import org.apache.sshd.sftp.server.SftpEventListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports each SFTP and scp file operation to the session's {@link SessionContext} (the audit log
 * and metrics): a file opened once, with the bytes read or written until it was closed (not one
 * line per request: a 1 GB download is one line), and each remove, mkdir, rename, link and setstat.
 * Paths are absolute paths in the sandbox.
 */
final class FileAudit implements SftpEventListener, ScpTransferEventListener {
  private static final Logger log = LoggerFactory.getLogger(FileAudit.class);

  /** What moved through one open SFTP file handle. */
  private static final class Moved {
    final AtomicLong read = new AtomicLong();
    final AtomicLong written = new AtomicLong();
    final AtomicReference<Throwable> error = new AtomicReference<>();
  }

  private static final AttributeKey<Moved> MOVED = new AttributeKey<>();

  // ---------------------------------------------------------------- SFTP

  @Override
  public void open(ServerSession session, String remoteHandle, Handle localHandle) {
    if (localHandle instanceof FileHandle) {
      localHandle.setAttribute(MOVED, new Moved());
    }
  }

  @Override
  public void openFailed(
      ServerSession session,
      String remotePath,
      Path localPath,
      boolean isDirectory,
      Throwable thrown) {
    if (!isDirectory) {
      report(session, "open", localPath != null ? path(localPath) : remotePath, null, 0, thrown);
    }
  }

  @Override
  public void read(
      ServerSession session,
      String remoteHandle,
      FileHandle localHandle,
      long offset,
      byte[] data,
      int dataOffset,
      int dataLen,
      int readLen,
      Throwable thrown) {
    Moved moved = localHandle.getAttribute(MOVED);
    if (moved != null) {
      if (readLen > 0) {
        moved.read.addAndGet(readLen);
      }
      if (thrown != null) {
        moved.error.compareAndSet(null, thrown);
      }
    }
  }

  @Override
  public void written(
      ServerSession session,
      String remoteHandle,
      FileHandle localHandle,
      long offset,
      byte[] data,
      int dataOffset,
      int dataLen,
      Throwable thrown) {
    Moved moved = localHandle.getAttribute(MOVED);
    if (moved != null) {
      if (thrown == null) {
        moved.written.addAndGet(dataLen);
      } else {
        moved.error.compareAndSet(null, thrown);
      }
    }
  }

  @Override
  public void closed(
      ServerSession session, String remoteHandle, Handle localHandle, Throwable thrown) {
    Moved moved = localHandle.getAttribute(MOVED);
    if (!(localHandle instanceof FileHandle file) || moved == null) {
      return;
    }
    Throwable error = moved.error.get() != null ? moved.error.get() : thrown;
    Set<StandardOpenOption> options = file.getOpenOptions();
    boolean forWriting =
        options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
    String path = path(file.getFile());
    if (forWriting) {
      report(session, "write", path, null, moved.written.get(), error);
    }
    if (!forWriting || moved.read.get() > 0) {
      report(session, "read", path, null, moved.read.get(), error);
    }
  }

  @Override
  public void removed(ServerSession session, Path path, boolean isDirectory, Throwable thrown) {
    report(session, isDirectory ? "rmdir" : "remove", path(path), null, 0, thrown);
  }

  @Override
  public void created(ServerSession session, Path path, Map<String, ?> attrs, Throwable thrown) {
    report(session, "mkdir", path(path), null, 0, thrown);
  }

  @Override
  public void moved(
      ServerSession session,
      Path srcPath,
      Path dstPath,
      Collection<CopyOption> opts,
      Throwable thrown) {
    report(session, "rename", path(srcPath), path(dstPath), 0, thrown);
  }

  @Override
  public void linked(
      ServerSession session, Path source, Path target, boolean symLink, Throwable thrown) {
    report(session, symLink ? "symlink" : "link", path(source), path(target), 0, thrown);
  }

  @Override
  public void modifiedAttributes(
      ServerSession session, Path path, Map<String, ?> attrs, Throwable thrown) {
    report(session, "setstat", path(path), null, 0, thrown);
  }

  // ---------------------------------------------------------------- scp (scp -O)

  @Override
  public void endFileEvent(
      Session session,
      FileOperation op,
      Path file,
      long length,
      Set<PosixFilePermission> perms,
      Throwable thrown) {
    // SEND: the gateway sends a sandbox file to the client (scp -f, a download).
    reportScp(session, op == FileOperation.SEND ? "read" : "write", path(file), length, thrown);
  }

  @Override
  public void endFolderEvent(
      Session session,
      FileOperation op,
      Path file,
      Set<PosixFilePermission> perms,
      Throwable thrown) {
    if (op == FileOperation.RECEIVE) {
      reportScp(session, "mkdir", path(file), 0, thrown);
    }
  }

  // ----------------------------------------------------------------

  private static void report(
      ServerSession session, String op, String path, String to, long bytes, Throwable error) {
    emit(session, "sftp", op, path, to, bytes, error);
  }

  private static void reportScp(
      Session session, String op, String path, long bytes, Throwable error) {
    emit(session, "scp", op, path, null, bytes, error);
  }

  private static void emit(
      Session session,
      String protocol,
      String op,
      String path,
      String to,
      long bytes,
      Throwable error) {
    // Never fail the transfer for its audit: a missing context is a bug to log, not a user's error.
    try {
      SessionContext.of(session)
          .fileOperation(protocol, op, path, to, bytes, error == null ? "ok" : describe(error));
    } catch (RuntimeException e) {
      log.warn("{} {} {} not reported: {}", protocol, op, path, e.toString());
    }
  }

  private static String path(Path path) {
    return path == null ? null : path.toAbsolutePath().normalize().toString();
  }

  private static String describe(Throwable error) {
    String message = error.getMessage();
    return error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
