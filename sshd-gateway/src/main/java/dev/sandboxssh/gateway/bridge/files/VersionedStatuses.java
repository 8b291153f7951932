package dev.sandboxssh.gateway.bridge.files;

import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_BAD_MESSAGE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_CANNOT_DELETE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_FAILURE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_INVALID_FILENAME;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_INVALID_PARAMETER;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_LINK_LOOP;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_LOCK_CONFLICT;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NOT_A_DIRECTORY;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NO_MEDIA;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NO_SUCH_FILE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NO_SUCH_PATH;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_OP_UNSUPPORTED;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_PERMISSION_DENIED;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_WRITE_PROTECT;

import org.apache.sshd.sftp.server.SftpErrorStatusDataHandler;
import org.apache.sshd.sftp.server.SftpSubsystemEnvironment;

/**
 * Failure statuses that the client's SFTP version defines. MINA picks from the whole list of the
 * last draft (version 6: "file already exists", "directory not empty", ...), while OpenSSH's sftp,
 * sshfs and most other clients speak version 3, which defines codes 0 to 8 only: OpenSSH's sftp
 * printed "Unknown status" for a mkdir of an existing directory, where sshd's sftp-server answers
 * "Failure". A code newer than the client's version becomes the one sftp-server sends for the same
 * error (its errno_to_portable), so clients see what they see from sshd.
 */
final class VersionedStatuses implements SftpErrorStatusDataHandler {
  @Override
  public int resolveSubStatus(
      SftpSubsystemEnvironment sftp, int id, Throwable e, int cmd, Object... args) {
    return forVersion(
        SftpErrorStatusDataHandler.super.resolveSubStatus(sftp, id, e, cmd, args),
        sftp.getVersion());
  }

  @Override
  public String resolveErrorMessage(
      SftpSubsystemEnvironment sftp, int id, Throwable e, int subStatus, int cmd, Object... args) {
    // The text of the original status: more precise than that of the code it was mapped to.
    int original = SftpErrorStatusDataHandler.super.resolveSubStatus(sftp, id, e, cmd, args);
    return SftpErrorStatusDataHandler.super.resolveErrorMessage(sftp, id, e, original, cmd, args);
  }

  /** The status a client of SFTP {@code version} knows for {@code status}. */
  static int forVersion(int status, int version) {
    if (status <= lastStatusOf(version)) {
      return status;
    }
    return switch (status) {
      // ENOENT, ENOTDIR, ELOOP
      case SSH_FX_NO_SUCH_PATH, SSH_FX_NOT_A_DIRECTORY, SSH_FX_LINK_LOOP -> SSH_FX_NO_SUCH_FILE;
      // EPERM, EACCES, EROFS
      case SSH_FX_WRITE_PROTECT, SSH_FX_CANNOT_DELETE -> SSH_FX_PERMISSION_DENIED;
      // ENAMETOOLONG, EINVAL
      case SSH_FX_INVALID_FILENAME, SSH_FX_INVALID_PARAMETER -> SSH_FX_BAD_MESSAGE;
      default -> SSH_FX_FAILURE;
    };
  }

  /** The last status code that SFTP {@code version} defines (filexfer drafts 02, 04, 05, 13). */
  private static int lastStatusOf(int version) {
    if (version <= 3) {
      return SSH_FX_OP_UNSUPPORTED;
    }
    if (version == 4) {
      return SSH_FX_NO_MEDIA;
    }
    if (version == 5) {
      return SSH_FX_LOCK_CONFLICT;
    }
    return Integer.MAX_VALUE;
  }
}
