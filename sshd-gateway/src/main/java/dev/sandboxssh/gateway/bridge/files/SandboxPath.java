package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.FileInfo;
import java.io.IOException;
import java.nio.file.LinkOption;
import java.util.List;
import org.apache.sshd.common.file.util.BasePath;

/**
 * A path in a sandbox. A path produced by a directory listing carries the lstat answer that came
 * with the listing, so that listing a directory costs one agent call instead of one per entry.
 */
public final class SandboxPath extends BasePath<SandboxPath, SandboxFileSystem> {
  private final FileInfo listed;

  /** A path of {@code fileSystem}: {@code root} is "/" for absolute paths, else null. */
  public SandboxPath(SandboxFileSystem fileSystem, String root, List<String> names) {
    this(fileSystem, root, names, null);
  }

  private SandboxPath(
      SandboxFileSystem fileSystem, String root, List<String> names, FileInfo listed) {
    super(fileSystem, root, names);
    this.listed = listed;
  }

  /** This path remembering what a listing said about it (lstat semantics). */
  SandboxPath withListing(FileInfo info) {
    return new SandboxPath(getFileSystem(), root, names, info);
  }

  /** The lstat answer of the listing that produced this path, or null. */
  FileInfo listed() {
    return listed;
  }

  /** The path as the agent takes it: absolute, resolved against the sandbox user's home. */
  String remote() {
    return toAbsolutePath().toString();
  }

  /** Resolves symlinks with the agent's realpath; the last component need not exist. */
  @Override
  public SandboxPath toRealPath(LinkOption... options) throws IOException {
    SandboxFileSystem fs = getFileSystem();
    String real = fs.files().realpath(remote());
    SandboxPath path = fs.getPath(real);
    // toRealPath promises an existing file, as on the default filesystem.
    fs.provider().checkAccess(path);
    return path;
  }
}
