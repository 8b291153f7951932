package dev.sandboxssh.gateway.bridge.files;

import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_BAD_MESSAGE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_DIR_NOT_EMPTY;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_FAILURE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_FILE_ALREADY_EXISTS;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_INVALID_FILENAME;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_LINK_LOOP;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NOT_A_DIRECTORY;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NO_SUCH_FILE;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_NO_SUCH_PATH;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_OP_UNSUPPORTED;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_PERMISSION_DENIED;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_UNKNOWN_PRINCIPAL;
import static org.apache.sshd.sftp.common.SftpConstants.SSH_FX_WRITE_PROTECT;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VersionedStatusesTest {
  @Test
  void version3GetsWhatSftpServerSendsForTheSameError() {
    assertThat(VersionedStatuses.forVersion(SSH_FX_FILE_ALREADY_EXISTS, 3))
        .isEqualTo(SSH_FX_FAILURE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_DIR_NOT_EMPTY, 3)).isEqualTo(SSH_FX_FAILURE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_UNKNOWN_PRINCIPAL, 3)).isEqualTo(SSH_FX_FAILURE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_NOT_A_DIRECTORY, 3))
        .isEqualTo(SSH_FX_NO_SUCH_FILE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_NO_SUCH_PATH, 3)).isEqualTo(SSH_FX_NO_SUCH_FILE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_LINK_LOOP, 3)).isEqualTo(SSH_FX_NO_SUCH_FILE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_WRITE_PROTECT, 3))
        .isEqualTo(SSH_FX_PERMISSION_DENIED);
    assertThat(VersionedStatuses.forVersion(SSH_FX_INVALID_FILENAME, 3))
        .isEqualTo(SSH_FX_BAD_MESSAGE);
  }

  @Test
  void codesTheVersionDefinesStay() {
    for (int code = 0; code <= SSH_FX_OP_UNSUPPORTED; code++) {
      assertThat(VersionedStatuses.forVersion(code, 3)).isEqualTo(code);
    }
    assertThat(VersionedStatuses.forVersion(SSH_FX_FILE_ALREADY_EXISTS, 4))
        .isEqualTo(SSH_FX_FILE_ALREADY_EXISTS);
    assertThat(VersionedStatuses.forVersion(SSH_FX_DIR_NOT_EMPTY, 5)).isEqualTo(SSH_FX_FAILURE);
    assertThat(VersionedStatuses.forVersion(SSH_FX_UNKNOWN_PRINCIPAL, 5))
        .isEqualTo(SSH_FX_UNKNOWN_PRINCIPAL);
    assertThat(VersionedStatuses.forVersion(SSH_FX_DIR_NOT_EMPTY, 6))
        .isEqualTo(SSH_FX_DIR_NOT_EMPTY);
  }
}
