package dev.sandboxssh.gateway.bridge.files;

import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.sftp.server.SftpSubsystemFactory;

/** Makes {@link SandboxSftpSubsystem}s, MINA's SFTP server bound to the session's sandbox. */
final class SandboxSftpSubsystemFactory extends SftpSubsystemFactory {
  SandboxSftpSubsystemFactory() {
    setErrorStatusDataHandler(new VersionedStatuses());
  }

  @Override
  public Command createSubsystem(ChannelSession channel) {
    SandboxSftpSubsystem subsystem = new SandboxSftpSubsystem(channel, this);
    getRegisteredListeners().forEach(subsystem::addSftpEventListener);
    return subsystem;
  }
}
