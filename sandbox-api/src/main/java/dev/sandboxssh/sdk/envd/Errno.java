package dev.sandboxssh.sdk.envd;

import io.grpc.Status;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the errno back out of an error message: envd and the coreutils run for it report failures
 * as strerror(3) text, where the agent API names the errno (filesystem.proto's {@code fs-errno}).
 */
final class Errno {
  private static final Map<String, String> BY_TEXT = new LinkedHashMap<>();

  static {
    BY_TEXT.put("no such file or directory", "ENOENT");
    BY_TEXT.put("permission denied", "EACCES");
    BY_TEXT.put("operation not permitted", "EPERM");
    BY_TEXT.put("file exists", "EEXIST");
    // The shell's noclobber refusal (`set -C`).
    BY_TEXT.put("cannot overwrite existing file", "EEXIST");
    BY_TEXT.put("directory not empty", "ENOTEMPTY");
    BY_TEXT.put("not a directory", "ENOTDIR");
    BY_TEXT.put("is a directory", "EISDIR");
    BY_TEXT.put("too many levels of symbolic links", "ELOOP");
    BY_TEXT.put("no space left on device", "ENOSPC");
    BY_TEXT.put("disk quota exceeded", "ENOSPC");
    BY_TEXT.put("invalid argument", "EINVAL");
    BY_TEXT.put("invalid cross-device link", "EXDEV");
    BY_TEXT.put("file name too long", "EINVAL");
    BY_TEXT.put("read-only file system", "EPERM");
  }

  private Errno() {}

  /** The errno the message reports, or null when it names none known. */
  static String fromMessage(String message) {
    if (message == null) {
      return null;
    }
    String lower = message.toLowerCase(Locale.ROOT);
    for (Map.Entry<String, String> e : BY_TEXT.entrySet()) {
      if (lower.contains(e.getKey())) {
        return e.getValue();
      }
    }
    return null;
  }

  /** The gRPC code filesystem.proto gives that errno. */
  static Status status(String errno) {
    switch (errno) {
      case "ENOENT":
        return Status.NOT_FOUND;
      case "EACCES":
      case "EPERM":
        return Status.PERMISSION_DENIED;
      case "EEXIST":
        return Status.ALREADY_EXISTS;
      case "ENOTEMPTY":
      case "ENOTDIR":
      case "EISDIR":
      case "ELOOP":
      case "EXDEV":
        return Status.FAILED_PRECONDITION;
      case "ENOSPC":
        return Status.RESOURCE_EXHAUSTED;
      case "EINVAL":
        return Status.INVALID_ARGUMENT;
      default:
        return Status.INTERNAL;
    }
  }
}
