package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.util.List;
import org.apache.sshd.scp.server.ScpCommandFactory;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.command.CommandFactory;
import org.apache.sshd.sftp.SftpModuleProperties;
import org.apache.sshd.sftp.server.SftpFileSystemAccessor;

/**
 * Serves sftp and scp from the gateway itself on the sandbox's filesystem API: no sftp-server or
 * scp binary needs to exist in the sandbox.
 */
public final class FileTransfer {
  /**
   * The OpenSSH extensions offered: what OpenSSH's sftp, scp and sshfs use, each one cheap (one
   * agent call, or a copy bounded by the file the client names).
   */
  static final String OPENSSH_EXTENSIONS =
      String.join(
          ",",
          "posix-rename@openssh.com=1",
          SandboxSftpSubsystem.STATVFS + "=2",
          SandboxSftpSubsystem.FSTATVFS + "=2",
          "hardlink@openssh.com=1",
          "fsync@openssh.com=1",
          "lsetstat@openssh.com=1",
          "limits@openssh.com=1",
          SandboxSftpSubsystem.EXPAND_PATH + "=1");

  /** The other extensions announced; the hashing ones are left out (and refused if asked). */
  static final String CLIENT_EXTENSIONS = "version-select,copy-file,copy-data,space-available";

  private FileTransfer() {}

  /**
   * Installs the sftp subsystem and the scp commands on {@code sshd}; every other exec request
   * still goes to {@code execFactory}.
   */
  public static void install(
      SshServer sshd,
      GatewayConfig.Sftp limits,
      CommandFactory execFactory,
      SandboxFileSystemProvider provider) {
    sshd.setFileSystemFactory(new SandboxFileSystemFactory(provider));
    // Every file operation of both protocols reaches the audit log and metrics.
    FileAudit audit = new FileAudit();
    SandboxSftpSubsystemFactory sftp = new SandboxSftpSubsystemFactory();
    sftp.addSftpEventListener(audit);
    sshd.setSubsystemFactories(List.of(sftp));
    sshd.setCommandFactory(
        new ScpCommandFactory.Builder().withDelegate(execFactory).addEventListener(audit).build());

    // Memory per channel stays bounded whatever the client sends: a handle costs an agent stream
    // and a small buffer, reads are shortened and larger writes refused.
    SftpModuleProperties.MAX_OPEN_HANDLES_PER_SESSION.set(sshd, limits.maxOpenHandles());
    SftpModuleProperties.MAX_READDATA_PACKET_LENGTH.set(sshd, limits.maxReadBytes());
    SftpModuleProperties.MAX_WRITEDATA_PACKET_LENGTH.set(sshd, limits.maxWriteBytes());
    SftpModuleProperties.OPENSSH_EXTENSIONS.set(sshd, OPENSSH_EXTENSIONS);
    SftpModuleProperties.CLIENT_EXTENSIONS.set(sshd, CLIENT_EXTENSIONS);
    // sftp-server does not fsync on close either; a client that wants it sends fsync@openssh.com.
    sshd.getProperties().put(SftpFileSystemAccessor.PROP_AUTO_SYNC_FILE_ON_CLOSE, false);
  }
}
