package dev.sandboxssh.sdk;

import io.grpc.Metadata;
import io.grpc.Status;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns a failed filesystem call into the {@code java.nio.file} exception a caller expects. */
final class FileErrors {
  /** Trailer in which the agent names the errno of a failure (see filesystem.proto). */
  static final Metadata.Key<String> ERRNO =
      Metadata.Key.of("fs-errno", Metadata.ASCII_STRING_MARSHALLER);

  private FileErrors() {}

  /**
   * The exception for {@code failure} of a call on {@code path}.
   *
   * @throws SandboxException (unchecked) when the failure is not about the file but the agent:
   *     unreachable, unauthenticated, cancelled, or an rpc it does not know
   */
  static FileSystemException toIo(String path, Throwable failure) {
    Status status = Status.fromThrowable(failure);
    String message =
        status.getDescription() != null ? status.getDescription() : status.getCode().toString();
    Metadata trailers = Status.trailersFromThrowable(failure);
    String errno = trailers == null ? null : trailers.get(ERRNO);
    return switch (status.getCode()) {
      case NOT_FOUND -> new NoSuchFileException(path, null, message);
      case PERMISSION_DENIED -> new AccessDeniedException(path, null, message);
      case ALREADY_EXISTS -> new FileAlreadyExistsException(path, null, message);
      case FAILED_PRECONDITION ->
          "ENOTEMPTY".equals(errno)
              ? new DirectoryNotEmptyException(path)
              : "ENOTDIR".equals(errno)
                  ? new NotDirectoryException(path)
                  : new FileSystemException(path, null, message);
      case RESOURCE_EXHAUSTED, INVALID_ARGUMENT, OUT_OF_RANGE, INTERNAL, UNKNOWN, DATA_LOSS ->
          new FileSystemException(path, null, message);
      default -> throw SandboxException.from(failure);
    };
  }
}
