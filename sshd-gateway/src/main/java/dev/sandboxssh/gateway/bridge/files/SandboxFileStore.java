package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.FileSystemStats;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;

/** The filesystem holding one sandbox path, described by the agent's statvfs(2). */
public final class SandboxFileStore extends FileStore {
  private final SandboxPath path;

  SandboxFileStore(SandboxPath path) {
    this.path = path;
  }

  /** statvfs(2) of the filesystem holding the path. */
  public FileSystemStats stats() throws IOException {
    return path.getFileSystem().files().statvfs(path.remote());
  }

  @Override
  public String name() {
    return "sandbox";
  }

  @Override
  public String type() {
    return "sandbox";
  }

  @Override
  public boolean isReadOnly() {
    try {
      return (stats().flags() & 1) != 0;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public long getTotalSpace() throws IOException {
    FileSystemStats s = stats();
    return s.blocks() * s.fragmentSize();
  }

  @Override
  public long getUsableSpace() throws IOException {
    FileSystemStats s = stats();
    return s.blocksAvailable() * s.fragmentSize();
  }

  @Override
  public long getUnallocatedSpace() throws IOException {
    FileSystemStats s = stats();
    return s.blocksFree() * s.fragmentSize();
  }

  @Override
  public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
    return type == BasicFileAttributeView.class || type == PosixFileAttributeView.class;
  }

  @Override
  public boolean supportsFileAttributeView(String name) {
    return path.getFileSystem().supportedFileAttributeViews().contains(name);
  }

  @Override
  public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
    return null;
  }

  @Override
  public Object getAttribute(String attribute) throws IOException {
    return switch (attribute) {
      case "totalSpace" -> getTotalSpace();
      case "usableSpace" -> getUsableSpace();
      case "unallocatedSpace" -> getUnallocatedSpace();
      default -> throw new UnsupportedOperationException("file store attribute " + attribute);
    };
  }
}
