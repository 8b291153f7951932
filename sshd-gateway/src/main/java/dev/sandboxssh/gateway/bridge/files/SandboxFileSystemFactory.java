package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.gateway.routing.SandboxUnreachableException;
import dev.sandboxssh.gateway.session.SessionContext;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import org.apache.sshd.common.file.FileSystemFactory;
import org.apache.sshd.common.session.Session;

/**
 * Gives each SFTP or SCP channel a filesystem on its session's sandbox. Called on MINA's I/O
 * threads, so it only wires things up: the sandbox is reached on the filesystem's first use.
 */
public final class SandboxFileSystemFactory implements FileSystemFactory {
  private final SandboxFileSystemProvider provider;

  /** A factory whose filesystems belong to {@code provider}. */
  public SandboxFileSystemFactory(SandboxFileSystemProvider provider) {
    this.provider = provider;
  }

  /** Not known without reaching the sandbox; MINA falls back to the filesystem's default dir. */
  @Override
  public Path getUserHomeDir(org.apache.sshd.common.session.SessionContext session) {
    return null;
  }

  @Override
  public FileSystem createFileSystem(org.apache.sshd.common.session.SessionContext session) {
    SessionContext context = SessionContext.of((Session) session);
    TransferMeter meter =
        new TransferMeter() {
          @Override
          public void bytesIn(long n) {
            context.addBytesIn(n);
          }

          @Override
          public void bytesOut(long n) {
            context.addBytesOut(n);
          }
        };
    return provider.newFileSystem(
        () -> {
          try {
            return context.lease().sandbox().files();
          } catch (SandboxUnreachableException e) {
            throw new IOException(e.getMessage(), e);
          }
        },
        meter);
  }
}
