package dev.sandboxssh.agent.fs;

import com.google.protobuf.UnsafeByteOperations;
import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.fs.PathResolver.Follow;
import dev.sandboxssh.agent.process.HandOffs;
import dev.sandboxssh.agent.process.JdkDescriptors;
import dev.sandboxssh.api.v1.ChmodRequest;
import dev.sandboxssh.api.v1.ChownRequest;
import dev.sandboxssh.api.v1.DirEntries;
import dev.sandboxssh.api.v1.Empty;
import dev.sandboxssh.api.v1.FileChunk;
import dev.sandboxssh.api.v1.FileInfo;
import dev.sandboxssh.api.v1.FileType;
import dev.sandboxssh.api.v1.FilesystemServiceGrpc;
import dev.sandboxssh.api.v1.MkdirRequest;
import dev.sandboxssh.api.v1.OpenReply;
import dev.sandboxssh.api.v1.OpenRequest;
import dev.sandboxssh.api.v1.PathReply;
import dev.sandboxssh.api.v1.PathRequest;
import dev.sandboxssh.api.v1.ReadRequest;
import dev.sandboxssh.api.v1.RemoveRequest;
import dev.sandboxssh.api.v1.RenameRequest;
import dev.sandboxssh.api.v1.SetTimesRequest;
import dev.sandboxssh.api.v1.StatvfsReply;
import dev.sandboxssh.api.v1.SymlinkRequest;
import dev.sandboxssh.api.v1.TruncateRequest;
import dev.sandboxssh.api.v1.WatchEvent;
import dev.sandboxssh.api.v1.WatchRequest;
import dev.sandboxssh.api.v1.WriteOpen;
import dev.sandboxssh.api.v1.WriteReply;
import dev.sandboxssh.api.v1.WriteRequest;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Serves the filesystem rpcs of one sandbox (see filesystem.proto).
 *
 * <p>Every path goes through {@link PathResolver}, which confines it to {@code --root} when one is
 * set. Streams honour gRPC flow control: Read and ListDir produce the next message only while the
 * caller is ready for it, and Write takes the next message only after the previous one is on disk,
 * so a slow or stalled client costs one chunk of memory, not a file.
 */
public final class FilesystemServiceImpl extends FilesystemServiceGrpc.FilesystemServiceImplBase {
  /** Largest chunk sent by Read, as the proto promises. */
  static final int READ_CHUNK = 64 * 1024;

  /** Most entries in one ListDir batch, as the proto promises. */
  static final int LIST_BATCH = 1000;

  /** Deepest tree a recursive remove descends; each level holds a directory descriptor open. */
  static final int MAX_REMOVE_DEPTH = 512;

  private static final int DEFAULT_FILE_MODE = 0644;
  private static final int DEFAULT_DIR_MODE = 0755;
  private static final int PERMISSION_BITS = 07777;

  private final PathResolver paths;
  private volatile HandOffs handOffs;

  /** Serves the sandbox that {@code config} describes. */
  public FilesystemServiceImpl(AgentConfig config) {
    try {
      this.paths = new PathResolver(config.root(), config.home());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve the sandbox root " + config.root(), e);
    }
  }

  /** An rpc body that may fail with any filesystem exception. */
  private interface Body<T> {
    T run() throws Exception;
  }

  /** Runs a unary rpc, mapping every failure onto its status. */
  private static <T> void unary(String op, String path, StreamObserver<T> out, Body<T> body) {
    T reply;
    try {
      reply = body.run();
    } catch (Exception e) {
      out.onError(FsStatus.of(op, path, e));
      return;
    }
    out.onNext(reply);
    out.onCompleted();
  }

  @Override
  public void stat(PathRequest request, StreamObserver<FileInfo> out) {
    String path = request.getPath();
    unary("stat", path, out, () -> describe(paths.resolve(path, Follow.YES), path, true));
  }

  @Override
  public void lstat(PathRequest request, StreamObserver<FileInfo> out) {
    String path = request.getPath();
    unary("lstat", path, out, () -> describe(paths.resolve(path, Follow.NO), path, false));
  }

  @Override
  public void watch(WatchRequest request, StreamObserver<WatchEvent> responseObserver) {
    String path = request.getPath();
    ServerCallStreamObserver<WatchEvent> out =
        (ServerCallStreamObserver<WatchEvent>) responseObserver;
    try {
      Path resolved = paths.resolve(path, Follow.YES);
      if (!Files.readAttributes(resolved, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
          .isDirectory()) {
        throw new NotDirectoryException(path);
      }
      DirectoryWatch.start(resolved, request.getRecursive(), out);
    } catch (Exception e) {
      out.onError(FsStatus.of("watch", path, e));
    }
  }

  @Override
  public void listDir(PathRequest request, StreamObserver<DirEntries> responseObserver) {
    String path = request.getPath();
    ServerCallStreamObserver<DirEntries> out =
        (ServerCallStreamObserver<DirEntries>) responseObserver;
    DirectoryStream<Path> dir;
    try {
      Path resolved = paths.resolve(path, Follow.YES);
      if (!Files.readAttributes(resolved, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
          .isDirectory()) {
        throw new NotDirectoryException(path);
      }
      dir = Files.newDirectoryStream(resolved);
    } catch (Exception e) {
      out.onError(FsStatus.of("list", path, e));
      return;
    }
    Iterator<Path> entries = dir.iterator();
    out.setOnCancelHandler(() -> closeQuietly(dir));
    // Called by gRPC whenever the client can take more, serially: one batch per readiness.
    out.setOnReadyHandler(
        () -> {
          try {
            while (out.isReady() && !out.isCancelled()) {
              List<FileInfo> batch = new ArrayList<>();
              while (batch.size() < LIST_BATCH && entries.hasNext()) {
                Path entry = entries.next();
                try {
                  batch.add(describe(entry, entry.getFileName().toString(), false));
                } catch (NoSuchFileException gone) {
                  // Removed between readdir and lstat: it is simply not listed.
                }
              }
              if (!batch.isEmpty()) {
                out.onNext(DirEntries.newBuilder().addAllEntries(batch).build());
              }
              if (!entries.hasNext()) {
                closeQuietly(dir);
                out.onCompleted();
                return;
              }
            }
          } catch (Exception e) {
            closeQuietly(dir);
            Exception cause = e instanceof DirectoryIteratorException d ? d.getCause() : e;
            out.onError(FsStatus.of("list", path, cause));
          }
        });
  }

  @Override
  public void read(ReadRequest request, StreamObserver<FileChunk> responseObserver) {
    String path = request.getPath();
    ServerCallStreamObserver<FileChunk> out =
        (ServerCallStreamObserver<FileChunk>) responseObserver;
    FileChannel file;
    try {
      if (request.getOffset() < 0 || request.getLength() < 0) {
        throw new IllegalArgumentException("offset or length beyond 2^63");
      }
      file =
          FileChannel.open(
              paths.resolve(path, Follow.YES), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    } catch (Exception e) {
      out.onError(FsStatus.of("read", path, e));
      return;
    }
    long end =
        request.getLength() == 0
            ? Long.MAX_VALUE
            : saturatedAdd(request.getOffset(), request.getLength());
    long[] position = {request.getOffset()};
    out.setOnCancelHandler(() -> closeQuietly(file));
    // Reads only while the client is ready: nothing is read ahead of what it asked for. A few
    // chunks may be queued (gRPC's default of 32 KiB is below one chunk) to keep the pipe full.
    out.setOnReadyThreshold(256 * 1024);
    out.setOnReadyHandler(
        () -> {
          try {
            while (out.isReady() && !out.isCancelled()) {
              int want = (int) Math.min(READ_CHUNK, end - position[0]);
              ByteBuffer buffer = ByteBuffer.allocate(want);
              int n = want == 0 ? -1 : file.read(buffer, position[0]);
              if (n < 0) {
                closeQuietly(file);
                out.onCompleted();
                return;
              }
              position[0] += n;
              buffer.flip();
              out.onNext(
                  FileChunk.newBuilder().setData(UnsafeByteOperations.unsafeWrap(buffer)).build());
            }
          } catch (Exception e) {
            closeQuietly(file);
            out.onError(FsStatus.of("read", path, e));
          }
        });
  }

  @Override
  public StreamObserver<WriteRequest> write(StreamObserver<WriteReply> out) {
    return new FileWriter(out);
  }

  /**
   * One Write call. gRPC delivers the next message only after {@link #onNext} returned, and this
   * writes each chunk to disk before returning, so the client is held back by the disk's pace.
   */
  private final class FileWriter implements StreamObserver<WriteRequest> {
    private final StreamObserver<WriteReply> out;
    private FileChannel file;
    private String path = "";
    private boolean append;
    private boolean sync;
    private long position;
    private long written;
    private boolean failed;

    FileWriter(StreamObserver<WriteReply> out) {
      this.out = out;
    }

    @Override
    public void onNext(WriteRequest request) {
      if (failed) {
        return;
      }
      try {
        if (file == null) {
          if (!request.hasOpen()) {
            throw new IllegalArgumentException("the first message must carry `open`");
          }
          open(request.getOpen());
        } else if (request.hasOpen()) {
          throw new IllegalArgumentException("`open` may only come in the first message");
        }
        ByteBuffer data = request.getData().asReadOnlyByteBuffer();
        while (data.hasRemaining()) {
          int n = append ? file.write(data) : file.write(data, position);
          position += n;
          written += n;
        }
      } catch (Exception e) {
        fail(e);
      }
    }

    private void open(WriteOpen open) throws IOException {
      path = open.getPath();
      append = open.getAppend();
      sync = open.getSync();
      position = open.getOffset();
      file =
          openFile(
              OpenRequest.newBuilder()
                  .setPath(path)
                  .setWrite(true)
                  .setCreate(open.getCreate())
                  .setExclusive(open.getExclusive())
                  .setTruncate(open.getTruncate())
                  .setAppend(append)
                  .setMode(open.getMode())
                  .build());
    }

    private void fail(Exception e) {
      failed = true;
      closeQuietly(file);
      out.onError(FsStatus.of("write", path, e));
    }

    @Override
    public void onError(Throwable t) {
      // The client went away: what was written stays, as with a killed writer process.
      failed = true;
      closeQuietly(file);
    }

    @Override
    public void onCompleted() {
      if (failed) {
        return;
      }
      try {
        if (file == null) {
          throw new IllegalArgumentException("no `open` message was sent");
        }
        if (sync) {
          file.force(true);
        }
        // close(2) can report a deferred write error (NFS, quota); it must not be lost.
        file.close();
      } catch (Exception e) {
        fail(e);
        return;
      }
      out.onNext(WriteReply.newBuilder().setBytesWritten(written).build());
      out.onCompleted();
    }
  }

  /** Opens a file as Write's {@code open} (and Read's) do, confined to the root. */
  private FileChannel openFile(OpenRequest open) throws IOException {
    Path resolved = paths.resolve(open.getPath(), Follow.YES);
    Set<OpenOption> options = new HashSet<>();
    // The resolver followed every symlink inside the root; one appearing now is refused.
    options.add(LinkOption.NOFOLLOW_LINKS);
    if (open.getRead() || !open.getWrite()) {
      options.add(StandardOpenOption.READ);
    }
    boolean existed = true;
    if (open.getWrite()) {
      options.add(StandardOpenOption.WRITE);
      existed = Files.exists(resolved, LinkOption.NOFOLLOW_LINKS);
      if (open.getCreate()) {
        options.add(
            open.getExclusive() ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE);
      }
      if (open.getTruncate()) {
        options.add(StandardOpenOption.TRUNCATE_EXISTING);
      }
      if (open.getAppend()) {
        options.add(StandardOpenOption.APPEND);
      }
    }
    FileChannel file = FileChannel.open(resolved, options);
    if (!existed) {
      // Created now: its mode is exactly the one asked for, not filtered by the agent's umask.
      int mode = open.getMode() == 0 ? DEFAULT_FILE_MODE : open.getMode() & PERMISSION_BITS;
      try {
        Files.setAttribute(resolved, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
      } catch (IOException | RuntimeException e) {
        closeQuietly(file);
        throw e;
      }
    }
    return file;
  }

  /**
   * Lets callers open files for themselves ({@link #open}) through {@code handOffs}, which the
   * caller serves on the descriptor socket.
   */
  public void serveHandOffs(HandOffs handOffs) {
    this.handOffs = handOffs;
  }

  @Override
  public void open(OpenRequest request, StreamObserver<OpenReply> out) {
    String path = request.getPath();
    unary(
        "open",
        path,
        out,
        () -> {
          HandOffs h = handOffs;
          if (h == null) {
            throw FsStatus.unsupported("open", path, "this agent hands over no descriptors");
          }
          try (FileChannel file = openFile(request)) {
            int fd = JdkDescriptors.of(file);
            if (fd < 0) {
              throw FsStatus.unsupported("open", path, "this agent's JVM shows no descriptors");
            }
            // The caller gets its own copy; the agent's closes with the channel.
            return OpenReply.newBuilder().setHandOff(h.offerCopyOf(fd)).build();
          }
        });
  }

  @Override
  public void mkdir(MkdirRequest request, StreamObserver<Empty> out) {
    String path = request.getPath();
    int mode = request.getMode() == 0 ? DEFAULT_DIR_MODE : request.getMode() & PERMISSION_BITS;
    unary(
        "mkdir",
        path,
        out,
        () -> {
          if (request.getParents()) {
            mkdirs(path, mode);
          } else {
            mkdir(path, mode);
          }
          return Empty.getDefaultInstance();
        });
  }

  private void mkdir(String path, int mode) throws IOException {
    Path dir = paths.resolve(path, Follow.NO);
    Files.createDirectory(dir);
    Files.setAttribute(dir, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
  }

  /** Like {@code mkdir -p}: creates missing parents (0755), and an existing directory is fine. */
  private void mkdirs(String path, int mode) throws IOException {
    try {
      mkdirUnlessDirectory(path, mode);
    } catch (NoSuchFileException e) {
      String parent = lexicalParent(path);
      if (parent == null) {
        throw e;
      }
      mkdirs(parent, DEFAULT_DIR_MODE);
      mkdirUnlessDirectory(path, mode);
    }
  }

  private void mkdirUnlessDirectory(String path, int mode) throws IOException {
    try {
      mkdir(path, mode);
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(paths.resolve(path, Follow.YES))) {
        throw e;
      }
    }
  }

  /** The path without its last component, or null when there is none. */
  private static String lexicalParent(String path) {
    String trimmed = path.replaceAll("/+$", "");
    int slash = trimmed.lastIndexOf('/');
    if (slash < 0) {
      return null;
    }
    return slash == 0 ? "/" : trimmed.substring(0, slash);
  }

  @Override
  public void remove(RemoveRequest request, StreamObserver<Empty> out) {
    String path = request.getPath();
    unary(
        "remove",
        path,
        out,
        () -> {
          Path target = paths.resolve(path, Follow.NO);
          BasicFileAttributes attrs =
              Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          if (request.getDirectoryOnly() && !attrs.isDirectory()) {
            throw new NotDirectoryException(path);
          }
          if (target.getParent() == null) {
            throw new AccessDeniedException(path, null, "refusing to remove /");
          }
          if (request.getRecursive() && attrs.isDirectory()) {
            removeContents(target);
          }
          Files.delete(target);
          return Empty.getDefaultInstance();
        });
  }

  /**
   * Empties a directory without following symlinks. Threat: a sandbox process swapping a
   * subdirectory for a symlink to the host mid-walk; the secure stream works relative to open
   * directory descriptors (openat/unlinkat), so a swapped name is unlinked, never followed.
   */
  private static void removeContents(Path dir) throws IOException {
    // Opened through its parent with NOFOLLOW, so a directory swapped for a symlink since the
    // lstat is refused rather than emptied.
    try (DirectoryStream<Path> parent = Files.newDirectoryStream(dir.getParent())) {
      if (!(parent instanceof SecureDirectoryStream<Path> secure)) {
        throw new IOException("this platform cannot remove a tree safely");
      }
      try (SecureDirectoryStream<Path> tree =
          secure.newDirectoryStream(dir.getFileName(), LinkOption.NOFOLLOW_LINKS)) {
        removeContents(tree, 0);
      }
    }
  }

  private static void removeContents(SecureDirectoryStream<Path> dir, int depth)
      throws IOException {
    if (depth > MAX_REMOVE_DEPTH) {
      throw new IOException("tree deeper than " + MAX_REMOVE_DEPTH + " levels");
    }
    for (Path entry : dir) {
      Path name = entry.getFileName();
      BasicFileAttributes attrs =
          dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
              .readAttributes();
      if (attrs.isDirectory()) {
        try (SecureDirectoryStream<Path> child =
            dir.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
          removeContents(child, depth + 1);
        }
        dir.deleteDirectory(name);
      } else {
        dir.deleteFile(name);
      }
    }
  }

  @Override
  public void rename(RenameRequest request, StreamObserver<Empty> out) {
    String from = request.getFrom();
    unary(
        "rename",
        from + " -> " + request.getTo(),
        out,
        () -> {
          // Neither end is followed: rename(2) moves and replaces names, symlinks included.
          Path source = paths.resolve(from, Follow.NO);
          Path target = paths.resolve(request.getTo(), Follow.NO);
          if (request.getOverwrite()) {
            // A plain rename(2): atomically replaces the target, as posix-rename expects.
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
          } else {
            // The JDK checks that the target is absent, then renames; a racing creator can
            // slip in between, which only the sandbox's own processes could do.
            Files.move(source, target);
          }
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void chmod(ChmodRequest request, StreamObserver<Empty> out) {
    String path = request.getPath();
    unary(
        "chmod",
        path,
        out,
        () -> {
          Path target = paths.resolve(path, Follow.YES);
          Files.setAttribute(
              target, "unix:mode", request.getMode() & PERMISSION_BITS, LinkOption.NOFOLLOW_LINKS);
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void chown(ChownRequest request, StreamObserver<Empty> out) {
    String path = request.getPath();
    unary(
        "chown",
        path,
        out,
        () -> {
          Path target = paths.resolve(path, Follow.YES);
          if (request.getUid() != -1) {
            Files.setAttribute(
                target, "unix:uid", checkedId("uid", request.getUid()), LinkOption.NOFOLLOW_LINKS);
          }
          if (request.getGid() != -1) {
            Files.setAttribute(
                target, "unix:gid", checkedId("gid", request.getGid()), LinkOption.NOFOLLOW_LINKS);
          }
          return Empty.getDefaultInstance();
        });
  }

  /** A uid or gid as the JDK's int, which it passes on as the unsigned uid_t. */
  private static int checkedId(String what, long id) {
    if (id < 0 || id >= 0xFFFF_FFFFL) {
      throw new IllegalArgumentException(what + " out of range: " + id);
    }
    return (int) id;
  }

  @Override
  public void setTimes(SetTimesRequest request, StreamObserver<Empty> out) {
    String path = request.getPath();
    unary(
        "set times of",
        path,
        out,
        () -> {
          Path target = paths.resolve(path, Follow.YES);
          Files.getFileAttributeView(
                  target, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
              .setTimes(fileTime(request.getMtimeNs()), fileTime(request.getAtimeNs()), null);
          return Empty.getDefaultInstance();
        });
  }

  /** Null (unchanged) for 0, as the proto says. */
  private static FileTime fileTime(long ns) {
    return ns == 0 ? null : FileTime.from(ns, TimeUnit.NANOSECONDS);
  }

  @Override
  public void truncate(TruncateRequest request, StreamObserver<Empty> out) {
    String path = request.getPath();
    unary(
        "truncate",
        path,
        out,
        () -> {
          long size = request.getSize();
          if (size < 0) {
            throw new IllegalArgumentException("size out of range");
          }
          Path target = paths.resolve(path, Follow.YES);
          try (FileChannel file =
              FileChannel.open(target, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            if (size <= file.size()) {
              file.truncate(size);
            } else {
              // FileChannel cannot extend; one byte at the new end leaves a hole before it.
              file.write(ByteBuffer.allocate(1), size - 1);
            }
          }
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void symlink(SymlinkRequest request, StreamObserver<Empty> out) {
    String link = request.getLink();
    unary(
        "symlink",
        link,
        out,
        () -> {
          // The content is stored as given; following it later goes through the resolver.
          if (request.getTarget().isEmpty() || request.getTarget().indexOf('\0') >= 0) {
            throw new IllegalArgumentException("symlink target is empty or contains NUL");
          }
          Files.createSymbolicLink(paths.resolve(link, Follow.NO), Path.of(request.getTarget()));
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void link(SymlinkRequest request, StreamObserver<Empty> out) {
    String link = request.getLink();
    unary(
        "link",
        link,
        out,
        () -> {
          // link(2) does not follow a symlink target; neither does the confinement check.
          Path existing = paths.resolve(request.getTarget(), Follow.NO);
          Files.createLink(paths.resolve(link, Follow.NO), existing);
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void readlink(PathRequest request, StreamObserver<PathReply> out) {
    String path = request.getPath();
    unary(
        "readlink",
        path,
        out,
        () ->
            PathReply.newBuilder()
                .setPath(Files.readSymbolicLink(paths.resolve(path, Follow.NO)).toString())
                .build());
  }

  @Override
  public void realpath(PathRequest request, StreamObserver<PathReply> out) {
    String path = request.getPath();
    unary(
        "realpath",
        path,
        out,
        () -> PathReply.newBuilder().setPath(paths.realpath(path).toString()).build());
  }

  @Override
  public void statvfs(PathRequest request, StreamObserver<StatvfsReply> out) {
    String path = request.getPath();
    unary(
        "statvfs",
        path,
        out,
        () -> {
          // The JDK's FileStore gives the block counts (from statvfs itself); inode counts, fsid
          // and flags it does not expose, so they are 0.
          FileStore store = Files.getFileStore(paths.resolve(path, Follow.YES));
          long block = store.getBlockSize();
          return StatvfsReply.newBuilder()
              .setBlockSize(block)
              .setFragmentSize(block)
              .setBlocks(store.getTotalSpace() / block)
              .setBlocksFree(store.getUnallocatedSpace() / block)
              .setBlocksAvailable(store.getUsableSpace() / block)
              .setFlags(store.isReadOnly() ? 1 : 0)
              .setNameMax(255)
              .build();
        });
  }

  @Override
  public void home(Empty request, StreamObserver<PathReply> out) {
    unary("home", "~", out, () -> PathReply.newBuilder().setPath(paths.home().toString()).build());
  }

  /** Describes a file as stat(2) or lstat(2) would. */
  private static FileInfo describe(Path path, String name, boolean follow) throws IOException {
    LinkOption[] options =
        follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
    Map<String, Object> a = Files.readAttributes(path, "unix:*", options);
    int mode = (Integer) a.get("mode");
    FileInfo.Builder info =
        FileInfo.newBuilder()
            .setName(name)
            .setType(typeOf(mode))
            .setSize((Long) a.get("size"))
            .setMode(mode)
            .setUid((Integer) a.get("uid"))
            .setGid((Integer) a.get("gid"))
            .setOwner(((UserPrincipal) a.get("owner")).getName())
            .setGroup(((GroupPrincipal) a.get("group")).getName())
            .setAtimeNs(((FileTime) a.get("lastAccessTime")).to(TimeUnit.NANOSECONDS))
            .setMtimeNs(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS))
            .setNlink((Integer) a.get("nlink"));
    if (typeOf(mode) == FileType.FILE_TYPE_SYMLINK) {
      info.setSymlinkTarget(Files.readSymbolicLink(path).toString());
    }
    return info.build();
  }

  private static FileType typeOf(int mode) {
    return switch (mode & 0170000) {
      case 0100000 -> FileType.FILE_TYPE_REGULAR;
      case 0040000 -> FileType.FILE_TYPE_DIRECTORY;
      case 0120000 -> FileType.FILE_TYPE_SYMLINK;
      default -> FileType.FILE_TYPE_OTHER;
    };
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum;
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception e) {
      // Nothing to report to: the call has already ended.
    }
  }
}
