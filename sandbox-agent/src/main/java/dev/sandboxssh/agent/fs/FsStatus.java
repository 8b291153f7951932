package dev.sandboxssh.agent.fs;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.util.Locale;

/**
 * Maps filesystem failures onto the gRPC codes filesystem.proto lists, with a message naming the
 * operation, the path as the client sent it and the cause, and the errno name in the {@code
 * fs-errno} trailer so that clients can tell apart causes that share a code.
 */
final class FsStatus {
  /** Trailer carrying the errno name (ENOENT, ENOTEMPTY, ENOSPC...) of a failed call. */
  static final Metadata.Key<String> ERRNO =
      Metadata.Key.of("fs-errno", Metadata.ASCII_STRING_MARSHALLER);

  private FsStatus() {}

  /** The status for a failure of {@code op} on {@code path}. */
  static StatusRuntimeException of(String op, String path, Exception e) {
    if (e instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (e instanceof IllegalArgumentException || e instanceof InvalidPathException) {
      return build(Status.INVALID_ARGUMENT, "EINVAL", op, path, e.getMessage());
    }
    if (!(e instanceof IOException)) {
      return build(Status.INTERNAL, "EIO", op, path, String.valueOf(e));
    }
    String reason = reason((IOException) e);
    if (e instanceof NoSuchFileException) {
      return build(
          Status.NOT_FOUND, "ENOENT", op, path, reason("no such file or directory", reason));
    }
    if (e instanceof AccessDeniedException) {
      return build(
          Status.PERMISSION_DENIED, "EACCES", op, path, reason("permission denied", reason));
    }
    if (e instanceof FileAlreadyExistsException) {
      return build(Status.ALREADY_EXISTS, "EEXIST", op, path, reason("file exists", reason));
    }
    if (e instanceof DirectoryNotEmptyException) {
      return build(Status.FAILED_PRECONDITION, "ENOTEMPTY", op, path, "directory not empty");
    }
    if (e instanceof NotDirectoryException) {
      return build(Status.FAILED_PRECONDITION, "ENOTDIR", op, path, "not a directory");
    }
    if (e instanceof NotLinkException) {
      return build(Status.INVALID_ARGUMENT, "EINVAL", op, path, "not a symbolic link");
    }
    if (e instanceof AtomicMoveNotSupportedException) {
      return build(Status.FAILED_PRECONDITION, "EXDEV", op, path, "cross-device rename");
    }
    // Everything else is told apart by strerror(3) text, the only thing the JDK keeps.
    String lower = reason.toLowerCase(Locale.ROOT);
    if (lower.contains("no space left") || lower.contains("quota exceeded")) {
      return build(Status.RESOURCE_EXHAUSTED, "ENOSPC", op, path, reason);
    }
    if (lower.contains("file too large")) {
      return build(Status.RESOURCE_EXHAUSTED, "EFBIG", op, path, reason);
    }
    if (lower.contains("is a directory")) {
      return build(Status.FAILED_PRECONDITION, "EISDIR", op, path, reason);
    }
    if (lower.contains("not a directory")) {
      return build(Status.FAILED_PRECONDITION, "ENOTDIR", op, path, reason);
    }
    if (lower.contains("directory not empty")) {
      return build(Status.FAILED_PRECONDITION, "ENOTEMPTY", op, path, reason);
    }
    if (lower.contains("too many levels of symbolic links")) {
      return build(Status.FAILED_PRECONDITION, "ELOOP", op, path, reason);
    }
    if (lower.contains("operation not permitted") || lower.contains("read-only file system")) {
      return build(Status.PERMISSION_DENIED, "EPERM", op, path, reason);
    }
    if (lower.contains("file name too long") || lower.contains("invalid argument")) {
      return build(Status.INVALID_ARGUMENT, "EINVAL", op, path, reason);
    }
    if (lower.contains("cross-device")) {
      return build(Status.FAILED_PRECONDITION, "EXDEV", op, path, reason);
    }
    return build(Status.INTERNAL, "EIO", op, path, reason);
  }

  /** The status for an operation this agent does not offer (FAILED_PRECONDITION, EOPNOTSUPP). */
  static StatusRuntimeException unsupported(String op, String path, String cause) {
    return build(Status.FAILED_PRECONDITION, "EOPNOTSUPP", op, path, cause);
  }

  private static String reason(IOException e) {
    if (e instanceof FileSystemException fse) {
      return fse.getReason() != null ? fse.getReason() : "";
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  private static String reason(String fallback, String reason) {
    return reason.isEmpty() ? fallback : reason;
  }

  private static StatusRuntimeException build(
      Status status, String errno, String op, String path, String cause) {
    Metadata trailers = new Metadata();
    trailers.put(ERRNO, errno);
    // A 4 KiB path would drown the cause; the start of it names it well enough.
    String shown = path != null && path.length() > 256 ? path.substring(0, 256) + "..." : path;
    return status.withDescription(op + " " + shown + ": " + cause).asRuntimeException(trailers);
  }
}
