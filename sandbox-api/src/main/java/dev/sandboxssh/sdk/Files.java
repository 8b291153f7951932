package dev.sandboxssh.sdk;

import dev.sandboxssh.api.v1.ChmodRequest;
import dev.sandboxssh.api.v1.ChownRequest;
import dev.sandboxssh.api.v1.DirEntries;
import dev.sandboxssh.api.v1.Empty;
import dev.sandboxssh.api.v1.FileType;
import dev.sandboxssh.api.v1.MkdirRequest;
import dev.sandboxssh.api.v1.OpenRequest;
import dev.sandboxssh.api.v1.PathRequest;
import dev.sandboxssh.api.v1.ReadRequest;
import dev.sandboxssh.api.v1.RemoveRequest;
import dev.sandboxssh.api.v1.RenameRequest;
import dev.sandboxssh.api.v1.SetTimesRequest;
import dev.sandboxssh.api.v1.StatvfsReply;
import dev.sandboxssh.api.v1.SymlinkRequest;
import dev.sandboxssh.api.v1.TruncateRequest;
import dev.sandboxssh.api.v1.WriteOpen;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;

/**
 * The filesystem of one sandbox, as its processes see it.
 *
 * <p>Paths are absolute, or relative to {@link #home()}. Failures are the {@code java.nio.file}
 * exceptions a local filesystem would throw ({@code NoSuchFileException}, {@code
 * AccessDeniedException} also for paths that leave the sandbox, {@code FileAlreadyExistsException},
 * {@code DirectoryNotEmptyException}, {@code NotDirectoryException}, else {@code
 * FileSystemException} with the agent's message, e.g. for a full disk); an agent that cannot be
 * reached throws the unchecked {@link SandboxUnavailableException}.
 */
public final class Files {
  private final AgentStubs stubs;
  private volatile FileTaker taker;

  Files(AgentStubs stubs) {
    this.stubs = stubs;
  }

  /**
   * Lets {@link #open} ask the agent for open files and take them with {@code taker}; for a caller
   * on the agent's host.
   */
  public void handOffTo(FileTaker taker) {
    this.taker = taker;
  }

  /**
   * Opens {@code path} in the caller's own process: the agent opens it as the sandbox's user and
   * hands the descriptor over, so reads and writes skip the agent. Null when that cannot be (no
   * {@link #handOffTo} taker, or an agent that cannot hand descriptors over): use {@link #read} and
   * {@link #write} then.
   *
   * @throws IOException as those would for the same path and flags (missing, refused, exists)
   */
  public OpenFile open(String path, OpenOptions options) throws IOException {
    FileTaker t = taker;
    if (t == null) {
      return null;
    }
    OpenRequest request =
        OpenRequest.newBuilder()
            .setPath(path)
            .setRead(options.read())
            .setWrite(options.write())
            .setCreate(options.create())
            .setExclusive(options.exclusive())
            .setTruncate(options.truncate())
            .setAppend(options.append())
            .setMode(options.mode())
            .build();
    String handOff;
    try {
      handOff = stubs.filesBlocking().open(request).getHandOff();
    } catch (StatusRuntimeException e) {
      if (declined(e)) {
        return null;
      }
      throw FileErrors.toIo(path, e);
    }
    return t.take(handOff, path);
  }

  /** An agent without hand-offs (EOPNOTSUPP), or one older than the Open call. */
  private static boolean declined(StatusRuntimeException e) {
    if (e.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
      return true;
    }
    return e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION
        && e.getTrailers() != null
        && "EOPNOTSUPP".equals(e.getTrailers().get(FileErrors.ERRNO));
  }

  /** An agent call that may fail with a status. */
  private interface Call<T> {
    T run();
  }

  private static <T> T call(String path, Call<T> call) throws IOException {
    try {
      return call.run();
    } catch (StatusRuntimeException e) {
      throw FileErrors.toIo(path, e);
    }
  }

  private static PathRequest path(String path) {
    return PathRequest.newBuilder().setPath(path).build();
  }

  /** Describes a file, following a final symlink (stat(2)). */
  public FileInfo stat(String path) throws IOException {
    return call(path, () -> toInfo(stubs.filesBlocking().stat(path(path))));
  }

  /** Describes a file, or a final symlink itself (lstat(2)). */
  public FileInfo lstat(String path) throws IOException {
    return call(path, () -> toInfo(stubs.filesBlocking().lstat(path(path))));
  }

  /** Every entry of a directory but {@code .} and {@code ..}, each described as by lstat. */
  public List<FileInfo> list(String dir) throws IOException {
    List<FileInfo> all = new ArrayList<>();
    try (DirectoryListing listing = openDir(dir)) {
      while (listing.hasNext()) {
        all.addAll(listing.next());
      }
    }
    return all;
  }

  /**
   * Lists a directory in batches (at most 1000 entries each), fetched as they are consumed; close
   * the listing to stop early.
   */
  public DirectoryListing openDir(String dir) throws IOException {
    return new DirectoryListing(dir);
  }

  /**
   * A directory listing being read; errors of opening the directory are thrown by {@link
   * Files#openDir}, later ones by {@link #hasNext} as unchecked {@link SandboxException}.
   */
  public final class DirectoryListing implements Iterator<List<FileInfo>>, AutoCloseable {
    private final Context.CancellableContext context = Context.current().withCancellation();
    private final String dir;
    private final Iterator<DirEntries> batches;

    private DirectoryListing(String dir) throws IOException {
      this.dir = dir;
      Context previous = context.attach();
      try {
        this.batches = stubs.filesBlocking().listDir(path(dir));
      } finally {
        context.detach(previous);
      }
      // The first answer tells whether the directory could be opened at all.
      try {
        batches.hasNext();
      } catch (StatusRuntimeException e) {
        context.cancel(null);
        throw FileErrors.toIo(dir, e);
      }
    }

    /** Whether another batch follows. */
    @Override
    public boolean hasNext() {
      try {
        return batches.hasNext();
      } catch (StatusRuntimeException e) {
        throw SandboxException.from(e);
      }
    }

    /** The next batch of entries. */
    @Override
    public List<FileInfo> next() {
      if (!hasNext()) {
        throw new NoSuchElementException("no more entries in " + dir);
      }
      return batches.next().getEntriesList().stream().map(Files::toInfo).toList();
    }

    /** Stops the listing; the agent closes the directory. */
    @Override
    public void close() {
      context.cancel(null);
    }
  }

  /**
   * Reads {@code length} bytes (0 = to the end) from {@code offset}, streamed with flow control:
   * the agent reads ahead only a few chunks of what the caller has consumed. Closing the stream
   * early cancels the read. An unreadable file fails here, not on the first read.
   */
  public InputStream read(String path, long offset, long length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("offset and length must be >= 0");
    }
    ReadRequest request =
        ReadRequest.newBuilder().setPath(path).setOffset(offset).setLength(length).build();
    return RemoteInputStream.open(path, observer -> stubs.filesAsync().read(request, observer));
  }

  /** A whole file, streamed. */
  public InputStream read(String path) throws IOException {
    return read(path, 0, 0);
  }

  /** A whole file in memory; for small files. */
  public byte[] readAll(String path) throws IOException {
    try (InputStream in = read(path)) {
      return in.readAllBytes();
    }
  }

  /**
   * Opens a file for writing with flow control: {@code write} blocks while the agent is behind.
   * Errors of opening (missing directory, permission, exclusive creation) surface on a later {@code
   * write} or on {@code close}; {@code close} waits until everything is written (and synced when
   * asked) and throws what went wrong, e.g. a full disk.
   */
  public OutputStream write(String path, WriteOptions options) {
    WriteOpen open =
        WriteOpen.newBuilder()
            .setPath(path)
            .setCreate(options.create())
            .setExclusive(options.exclusive())
            .setTruncate(options.truncate())
            .setAppend(options.append())
            .setOffset(options.offset())
            .setMode(options.mode())
            .setSync(options.sync())
            .build();
    return new RemoteOutputStream(path, open, stubs.filesAsync()::write);
  }

  /** Writes {@code data} as one call, returning once it is written; errors are thrown here. */
  public void writeAll(String path, byte[] data, WriteOptions options) throws IOException {
    try (OutputStream out = write(path, options)) {
      out.write(data);
    }
  }

  /** Replaces a file's content with {@code data} (created 0644 when missing). */
  public void writeAll(String path, byte[] data) throws IOException {
    writeAll(path, data, WriteOptions.replace());
  }

  /** Creates a directory with exactly {@code mode}; with {@code parents}, like {@code mkdir -p}. */
  public void mkdir(String path, boolean parents, int mode) throws IOException {
    MkdirRequest request =
        MkdirRequest.newBuilder().setPath(path).setParents(parents).setMode(mode).build();
    call(path, () -> stubs.filesBlocking().mkdir(request));
  }

  /** Removes a file, symlink or empty directory; with {@code recursive}, a whole tree. */
  public void remove(String path, boolean recursive) throws IOException {
    RemoveRequest request =
        RemoveRequest.newBuilder().setPath(path).setRecursive(recursive).build();
    call(path, () -> stubs.filesBlocking().remove(request));
  }

  /** Removes an empty directory, and nothing else (rmdir(2)). */
  public void rmdir(String path) throws IOException {
    RemoveRequest request = RemoveRequest.newBuilder().setPath(path).setDirectoryOnly(true).build();
    call(path, () -> stubs.filesBlocking().remove(request));
  }

  /**
   * Renames {@code from} to {@code to}; with {@code overwrite}, atomically replaces an existing
   * target (POSIX rename), else fails with {@code FileAlreadyExistsException}.
   */
  public void rename(String from, String to, boolean overwrite) throws IOException {
    RenameRequest request =
        RenameRequest.newBuilder().setFrom(from).setTo(to).setOverwrite(overwrite).build();
    call(from, () -> stubs.filesBlocking().rename(request));
  }

  /** Sets the permission bits (07777), following a symlink. */
  public void chmod(String path, int mode) throws IOException {
    ChmodRequest request = ChmodRequest.newBuilder().setPath(path).setMode(mode).build();
    call(path, () -> stubs.filesBlocking().chmod(request));
  }

  /** Changes owner and group by number; -1 leaves one unchanged. */
  public void chown(String path, long uid, long gid) throws IOException {
    ChownRequest request = ChownRequest.newBuilder().setPath(path).setUid(uid).setGid(gid).build();
    call(path, () -> stubs.filesBlocking().chown(request));
  }

  /**
   * Sets access and modification times, to the nanosecond; null leaves one unchanged (as does
   * exactly the epoch, which the API cannot tell from "unset").
   */
  public void setTimes(String path, FileTime atime, FileTime mtime) throws IOException {
    SetTimesRequest request =
        SetTimesRequest.newBuilder()
            .setPath(path)
            .setAtimeNs(atime == null ? 0 : atime.to(TimeUnit.NANOSECONDS))
            .setMtimeNs(mtime == null ? 0 : mtime.to(TimeUnit.NANOSECONDS))
            .build();
    call(path, () -> stubs.filesBlocking().setTimes(request));
  }

  /** Truncates or extends a file to {@code size} bytes. */
  public void truncate(String path, long size) throws IOException {
    TruncateRequest request = TruncateRequest.newBuilder().setPath(path).setSize(size).build();
    call(path, () -> stubs.filesBlocking().truncate(request));
  }

  /** Creates a symlink at {@code link} whose content is {@code target}, stored as given. */
  public void symlink(String target, String link) throws IOException {
    SymlinkRequest request = SymlinkRequest.newBuilder().setTarget(target).setLink(link).build();
    call(link, () -> stubs.filesBlocking().symlink(request));
  }

  /** Creates a hard link {@code link} to the existing file {@code target}. */
  public void link(String target, String link) throws IOException {
    SymlinkRequest request = SymlinkRequest.newBuilder().setTarget(target).setLink(link).build();
    call(link, () -> stubs.filesBlocking().link(request));
  }

  /** A symlink's content, as stored. */
  public String readlink(String path) throws IOException {
    return call(path, () -> stubs.filesBlocking().readlink(path(path)).getPath());
  }

  /** The canonical absolute path; its last component need not exist. */
  public String realpath(String path) throws IOException {
    return call(path, () -> stubs.filesBlocking().realpath(path(path)).getPath());
  }

  /** statvfs(2) of the filesystem holding {@code path}. */
  public FileSystemStats statvfs(String path) throws IOException {
    StatvfsReply r = call(path, () -> stubs.filesBlocking().statvfs(path(path)));
    return new FileSystemStats(
        r.getBlockSize(),
        r.getFragmentSize(),
        r.getBlocks(),
        r.getBlocksFree(),
        r.getBlocksAvailable(),
        r.getFiles(),
        r.getFilesFree(),
        r.getFilesAvailable(),
        r.getFsid(),
        r.getFlags(),
        r.getNameMax());
  }

  /** The sandbox user's home directory, which relative paths start from. */
  public String home() throws IOException {
    return call("~", () -> stubs.filesBlocking().home(Empty.getDefaultInstance()).getPath());
  }

  static FileInfo toInfo(dev.sandboxssh.api.v1.FileInfo info) {
    return new FileInfo(
        info.getName(),
        toType(info.getType()),
        info.getSize(),
        info.getMode(),
        Integer.toUnsignedLong(info.getUid()),
        Integer.toUnsignedLong(info.getGid()),
        info.getOwner(),
        info.getGroup(),
        FileTime.from(info.getAtimeNs(), TimeUnit.NANOSECONDS),
        FileTime.from(info.getMtimeNs(), TimeUnit.NANOSECONDS),
        info.getNlink(),
        info.getSymlinkTarget());
  }

  private static FileInfo.Type toType(FileType type) {
    return switch (type) {
      case FILE_TYPE_REGULAR -> FileInfo.Type.REGULAR;
      case FILE_TYPE_DIRECTORY -> FileInfo.Type.DIRECTORY;
      case FILE_TYPE_SYMLINK -> FileInfo.Type.SYMLINK;
      default -> FileInfo.Type.OTHER;
    };
  }
}
