package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.Files;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileStore;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.common.file.util.BaseFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sandbox's filesystem as a {@code java.nio.file.FileSystem}, for MINA's SFTP and SCP servers.
 * The sandbox is reached on first use, not when this object is made: MINA builds filesystems on its
 * I/O threads, where reaching a sandbox (which may start an agent) must not block.
 *
 * <p>Relative paths start at the sandbox user's home, which is this filesystem's default directory.
 * Confinement is the agent's job: whatever path arrives here is handed over as is, and the agent
 * refuses what leaves the sandbox.
 */
public final class SandboxFileSystem extends BaseFileSystem<SandboxPath> {
  private static final Logger log = LoggerFactory.getLogger(SandboxFileSystem.class);

  private final FilesConnector connector;
  private final TransferMeter meter;
  private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
  private volatile Files files;
  private volatile SandboxPath home;
  private volatile boolean closed;

  SandboxFileSystem(
      SandboxFileSystemProvider provider, FilesConnector connector, TransferMeter meter) {
    super(provider);
    this.connector = connector;
    this.meter = meter;
  }

  /** Reaches the sandbox now (blocking) unless already done; its message is the user's line. */
  public void connect() throws IOException {
    files();
  }

  /** The sandbox's filesystem API, reached on first call. */
  Files files() throws IOException {
    if (closed) {
      throw new ClosedFileSystemException();
    }
    Files f = files;
    if (f == null) {
      synchronized (this) {
        if (files == null) {
          Files reached = connector.connect();
          home = getPath(reached.home());
          files = reached;
        }
        f = files;
      }
    }
    return f;
  }

  TransferMeter meter() {
    return meter;
  }

  /** The sandbox user's home, where relative paths start. */
  @Override
  public SandboxPath getDefaultDir() {
    if (home == null) {
      try {
        files();
      } catch (IOException e) {
        throw new UncheckedIOException(e.getMessage(), e);
      }
    }
    return home;
  }

  @Override
  public SandboxFileSystemProvider provider() {
    return (SandboxFileSystemProvider) super.provider();
  }

  @Override
  protected SandboxPath create(String root, List<String> names) {
    return new SandboxPath(this, root, names);
  }

  /** Registers a channel or stream so that {@link #close} can release it. */
  void opened(Closeable resource) {
    open.add(resource);
  }

  /** Forgets a closed channel or stream. */
  void closed(Closeable resource) {
    open.remove(resource);
  }

  /** Commits what open channels have buffered, so that a stat or rename sees every write. */
  void commitWrites() throws IOException {
    for (Closeable c : open) {
      if (c instanceof SandboxFileChannel channel) {
        channel.commitWrites();
      }
    }
  }

  /** Channels and streams still open on this filesystem. */
  public int openCount() {
    return open.size();
  }

  @Override
  public boolean isOpen() {
    return !closed;
  }

  /**
   * Releases whatever the SFTP or SCP server left open (an abruptly closed channel), so that no
   * agent stream outlives the channel.
   */
  @Override
  public void close() {
    closed = true;
    for (Closeable c : open) {
      try {
        c.close();
      } catch (IOException e) {
        log.debug("closing a leftover handle: {}", e.toString());
      }
    }
    open.clear();
  }

  @Override
  public Set<String> supportedFileAttributeViews() {
    return Set.of("basic", "posix", "owner", "unix");
  }

  @Override
  public Iterable<FileStore> getFileStores() {
    return List.of(new SandboxFileStore(getPath("/")));
  }

  @Override
  public UserPrincipalLookupService getUserPrincipalLookupService() {
    return NumericPrincipals.LOOKUP;
  }
}
