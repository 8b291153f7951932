package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.FileInfo;
import dev.sandboxssh.sdk.Files;
import dev.sandboxssh.sdk.OpenFile;
import dev.sandboxssh.sdk.OpenOptions;
import dev.sandboxssh.sdk.WriteOptions;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.spi.FileSystemProvider;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code java.nio.file} provider of sandbox filesystems: every operation is one call of the SDK
 * {@link Files} API (or a stream of it). The SDK already throws the {@code java.nio.file}
 * exceptions that MINA maps to SFTP statuses.
 */
public final class SandboxFileSystemProvider extends FileSystemProvider {
  private static final SandboxFileSystemProvider SHARED = new SandboxFileSystemProvider();

  /** What sshd applies to files and directories that clients create: umask 022. */
  private static final int UMASK = 022;

  private final AtomicInteger open = new AtomicInteger();

  /** The provider every gateway filesystem uses. */
  public static SandboxFileSystemProvider shared() {
    return SHARED;
  }

  /** A filesystem on the sandbox that {@code connector} reaches at first use. */
  public SandboxFileSystem newFileSystem(FilesConnector connector, TransferMeter meter) {
    return new SandboxFileSystem(this, connector, meter);
  }

  /** File channels, streams and directory listings open on all filesystems of this provider. */
  public int openCount() {
    return open.get();
  }

  void released() {
    open.decrementAndGet();
  }

  private <T extends java.io.Closeable> T track(SandboxFileSystem fs, T resource) {
    open.incrementAndGet();
    fs.opened(resource);
    return resource;
  }

  @Override
  public String getScheme() {
    return "sandbox";
  }

  /** Not offered: filesystems are made per session by the gateway. */
  @Override
  public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
    throw new UnsupportedOperationException("sandbox filesystems are made per SSH session");
  }

  /** Not offered, as {@link #newFileSystem(URI, Map)}. */
  @Override
  public FileSystem getFileSystem(URI uri) {
    throw new UnsupportedOperationException("sandbox filesystems are made per SSH session");
  }

  /** Not offered, as {@link #newFileSystem(URI, Map)}. */
  @Override
  public Path getPath(URI uri) {
    throw new UnsupportedOperationException("sandbox filesystems are made per SSH session");
  }

  private static SandboxPath sandboxPath(Path path) {
    if (path instanceof SandboxPath p) {
      return p;
    }
    throw new ProviderMismatchException("not a sandbox path: " + path);
  }

  private static Files files(SandboxPath path) throws IOException {
    return path.getFileSystem().files();
  }

  private static boolean follow(LinkOption... options) {
    return !Arrays.asList(options).contains(LinkOption.NOFOLLOW_LINKS);
  }

  /** stat or lstat of {@code path}, answered from a listing when it carried the answer. */
  static FileInfo info(SandboxPath path, boolean follow) throws IOException {
    FileInfo listed = path.listed();
    if (listed != null && (!follow || !listed.isSymbolicLink())) {
      return listed;
    }
    SandboxFileSystem fs = path.getFileSystem();
    // A stat must count bytes still in flight on an open channel (sshfs stats while writing).
    fs.commitWrites();
    return follow ? fs.files().stat(path.remote()) : fs.files().lstat(path.remote());
  }

  /** The permission bits asked for by {@code attrs}, or {@code fallback}. */
  private static int requestedMode(int fallback, FileAttribute<?>... attrs) {
    for (FileAttribute<?> a : attrs) {
      if (a.name().equals("posix:permissions") || a.name().equals("permissions")) {
        @SuppressWarnings("unchecked")
        Set<PosixFilePermission> perms = (Set<PosixFilePermission>) a.value();
        return SandboxFileAttributes.toMode(perms) & ~UMASK;
      }
      if (a.name().equals("unix:mode")) {
        return ((Number) a.value()).intValue() & 0777 & ~UMASK;
      }
    }
    return fallback;
  }

  @Override
  public SeekableByteChannel newByteChannel(
      Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
    return newFileChannel(path, options, attrs);
  }

  @Override
  public FileChannel newFileChannel(
      Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
    SandboxPath p = sandboxPath(path);
    SandboxFileSystem fs = p.getFileSystem();
    boolean append = options.contains(StandardOpenOption.APPEND);
    boolean writable = append || options.contains(StandardOpenOption.WRITE);
    boolean readable = options.contains(StandardOpenOption.READ) || !writable;
    boolean exclusive = writable && options.contains(StandardOpenOption.CREATE_NEW);
    boolean create = writable && (exclusive || options.contains(StandardOpenOption.CREATE));
    boolean truncate =
        writable && !append && options.contains(StandardOpenOption.TRUNCATE_EXISTING);
    Files files = fs.files();
    String remote = p.remote();
    int mode = writable ? requestedMode(0644, attrs) : 0;
    OpenFile direct =
        files.open(
            remote, new OpenOptions(readable, writable, create, exclusive, truncate, append, mode));
    SandboxFileChannel channel =
        new SandboxFileChannel(fs, remote, files, readable, writable, append, direct);
    if (direct != null) {
      return track(fs, channel);
    }
    if (writable) {
      // An empty Write call creates, truncates or just opens the file now, so that a missing
      // directory, a refused path or an existing file (exclusive) fails the open itself.
      WriteOptions opening = new WriteOptions(create, exclusive, truncate, false, 0, mode, false);
      files.write(remote, opening).close();
    } else {
      channel.openReaderAtStart();
    }
    return track(fs, channel);
  }

  /** A Read stream of the whole file: scp's download path, without a channel in between. */
  @Override
  public InputStream newInputStream(Path path, OpenOption... options) throws IOException {
    SandboxPath p = sandboxPath(path);
    SandboxFileSystem fs = p.getFileSystem();
    TransferMeter meter = fs.meter();
    Files files = files(p);
    OpenFile direct = files.open(p.remote(), OpenOptions.reading());
    InputStream in = direct != null ? direct.asInputStream() : files.read(p.remote());
    return track(
        fs,
        new FilterInputStream(in) {
          private boolean closed;

          @Override
          public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
              meter.bytesOut(1);
            }
            return b;
          }

          @Override
          public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
              meter.bytesOut(n);
            }
            return n;
          }

          @Override
          public void close() throws IOException {
            synchronized (this) {
              if (closed) {
                return;
              }
              closed = true;
            }
            try {
              super.close();
            } finally {
              fs.closed(this);
              released();
            }
          }
        });
  }

  /** A Write stream replacing the file (or as {@code options} say): scp's upload path. */
  @Override
  public OutputStream newOutputStream(Path path, OpenOption... options) throws IOException {
    SandboxPath p = sandboxPath(path);
    SandboxFileSystem fs = p.getFileSystem();
    TransferMeter meter = fs.meter();
    List<OpenOption> opts = Arrays.asList(options);
    WriteOptions how = WriteOptions.replace().withMode(0644 & ~UMASK);
    if (!opts.isEmpty()) {
      how =
          how.withCreate(
                  opts.contains(StandardOpenOption.CREATE)
                      || opts.contains(StandardOpenOption.CREATE_NEW))
              .withExclusive(opts.contains(StandardOpenOption.CREATE_NEW))
              .withTruncate(opts.contains(StandardOpenOption.TRUNCATE_EXISTING))
              .withAppend(opts.contains(StandardOpenOption.APPEND));
    }
    Files files = files(p);
    OpenFile direct =
        files.open(
            p.remote(),
            new OpenOptions(
                false,
                true,
                how.create(),
                how.exclusive(),
                how.truncate(),
                how.append(),
                how.mode()));
    OutputStream out = direct != null ? direct.asOutputStream() : files.write(p.remote(), how);
    return track(
        fs,
        new FilterOutputStream(out) {
          private boolean closed;

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            meter.bytesIn(len);
          }

          @Override
          public void close() throws IOException {
            synchronized (this) {
              if (closed) {
                return;
              }
              closed = true;
            }
            try {
              // Waits for the agent; a full disk is thrown here.
              out.close();
            } finally {
              fs.closed(this);
              released();
            }
          }
        });
  }

  @Override
  public DirectoryStream<Path> newDirectoryStream(
      Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
    SandboxPath p = sandboxPath(dir);
    SandboxFileSystem fs = p.getFileSystem();
    Files.DirectoryListing listing = files(p).openDir(p.remote());
    return track(fs, new Listing(fs, p, listing, filter));
  }

  /** A directory being listed, in the agent's batches. */
  private final class Listing implements DirectoryStream<Path> {
    private final SandboxFileSystem fs;
    private final SandboxPath dir;
    private final Files.DirectoryListing listing;
    private final DirectoryStream.Filter<? super Path> filter;
    private boolean iterated;
    private boolean closed;

    Listing(
        SandboxFileSystem fs,
        SandboxPath dir,
        Files.DirectoryListing listing,
        DirectoryStream.Filter<? super Path> filter) {
      this.fs = fs;
      this.dir = dir;
      this.listing = listing;
      this.filter = filter;
    }

    @Override
    public Iterator<Path> iterator() {
      if (iterated || closed) {
        throw new IllegalStateException("a directory stream iterates once");
      }
      iterated = true;
      return new Iterator<>() {
        private Iterator<FileInfo> batch = List.<FileInfo>of().iterator();
        private Path next;

        @Override
        public boolean hasNext() {
          while (next == null) {
            if (closed) {
              return false;
            }
            if (!batch.hasNext()) {
              if (!listing.hasNext()) {
                return false;
              }
              batch = listing.next().iterator();
              continue;
            }
            FileInfo info = batch.next();
            SandboxPath entry = dir.resolve(info.name()).withListing(info);
            try {
              if (filter == null || filter.accept(entry)) {
                next = entry;
              }
            } catch (IOException e) {
              throw new DirectoryIteratorException(e);
            }
          }
          return true;
        }

        @Override
        public Path next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          Path n = next;
          next = null;
          return n;
        }
      };
    }

    @Override
    public synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      listing.close();
      fs.closed(this);
      released();
    }
  }

  @Override
  public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
    SandboxPath p = sandboxPath(dir);
    files(p).mkdir(p.remote(), false, requestedMode(0755, attrs));
  }

  @Override
  public void delete(Path path) throws IOException {
    SandboxPath p = sandboxPath(path);
    files(p).remove(p.remote(), false);
  }

  @Override
  public void copy(Path source, Path target, CopyOption... options) throws IOException {
    SandboxPath from = sandboxPath(source);
    SandboxPath to = sandboxPath(target);
    List<CopyOption> opts = Arrays.asList(options);
    boolean replace = opts.contains(StandardCopyOption.REPLACE_EXISTING);
    boolean follow = !opts.contains(LinkOption.NOFOLLOW_LINKS);
    Files files = files(from);
    FileInfo info = info(from, follow);
    if (!replace && exists(to)) {
      throw new FileAlreadyExistsException(to.toString());
    }
    if (info.isDirectory()) {
      if (replace && exists(to)) {
        files.rmdir(to.remote());
      }
      files.mkdir(to.remote(), false, info.permissions());
    } else if (info.isSymbolicLink()) {
      if (replace && exists(to)) {
        files.remove(to.remote(), false);
      }
      files.symlink(info.symlinkTarget(), to.remote());
      return;
    } else {
      // Streamed through the gateway with the SDK's flow control: memory stays at a few chunks.
      WriteOptions how = WriteOptions.replace().withMode(info.permissions() & 0777);
      try (InputStream in = files.read(from.remote());
          OutputStream out = files.write(to.remote(), how)) {
        in.transferTo(out);
      }
    }
    if (opts.contains(StandardCopyOption.COPY_ATTRIBUTES)) {
      files.chmod(to.remote(), info.permissions());
      files.setTimes(to.remote(), info.atime(), info.mtime());
    }
  }

  private static boolean exists(SandboxPath path) throws IOException {
    try {
      files(path).lstat(path.remote());
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /**
   * A rename inside the sandbox; an existing target is replaced only with {@code REPLACE_EXISTING},
   * and the agent's rename(2) is atomic either way.
   */
  @Override
  public void move(Path source, Path target, CopyOption... options) throws IOException {
    SandboxPath from = sandboxPath(source);
    SandboxPath to = sandboxPath(target);
    boolean replace = Arrays.asList(options).contains(StandardCopyOption.REPLACE_EXISTING);
    from.getFileSystem().commitWrites();
    files(from).rename(from.remote(), to.remote(), replace);
  }

  @Override
  public boolean isSameFile(Path path, Path path2) throws IOException {
    if (path.equals(path2)) {
      return true;
    }
    if (!(path2 instanceof SandboxPath other)) {
      return false;
    }
    SandboxPath p = sandboxPath(path);
    return p.toAbsolutePath().normalize().equals(other.toAbsolutePath().normalize())
        || files(p).realpath(p.remote()).equals(files(other).realpath(other.remote()));
  }

  @Override
  public boolean isHidden(Path path) {
    Path name = path.getFileName();
    return name != null && name.toString().startsWith(".");
  }

  @Override
  public FileStore getFileStore(Path path) {
    return new SandboxFileStore(sandboxPath(path));
  }

  /**
   * Checks that the file exists. Permissions are the agent's to enforce, on the operation itself:
   * the gateway does not know which user the sandbox's processes run as.
   */
  @Override
  public void checkAccess(Path path, AccessMode... modes) throws IOException {
    info(sandboxPath(path), true);
  }

  @Override
  public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs)
      throws IOException {
    SandboxPath p = sandboxPath(link);
    // The target is stored as given: a relative target stays relative to the link's directory.
    files(p).symlink(target.toString(), p.remote());
  }

  @Override
  public void createLink(Path link, Path existing) throws IOException {
    SandboxPath p = sandboxPath(link);
    files(p).link(sandboxPath(existing).remote(), p.remote());
  }

  @Override
  public Path readSymbolicLink(Path link) throws IOException {
    SandboxPath p = sandboxPath(link);
    return p.getFileSystem().getPath(files(p).readlink(p.remote()));
  }

  @Override
  @SuppressWarnings("unchecked")
  public <V extends FileAttributeView> V getFileAttributeView(
      Path path, Class<V> type, LinkOption... options) {
    if (type.isAssignableFrom(AttributeView.class)) {
      return (V) new AttributeView(sandboxPath(path), follow(options));
    }
    return null;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <A extends BasicFileAttributes> A readAttributes(
      Path path, Class<A> type, LinkOption... options) throws IOException {
    if (!type.isAssignableFrom(SandboxFileAttributes.class)) {
      throw new UnsupportedOperationException("attributes " + type.getName());
    }
    return (A) new SandboxFileAttributes(info(sandboxPath(path), follow(options)));
  }

  @Override
  public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
      throws IOException {
    int colon = attributes.indexOf(':');
    String view = colon < 0 ? "basic" : attributes.substring(0, colon);
    String names = colon < 0 ? attributes : attributes.substring(colon + 1);
    if (!path.getFileSystem().supportedFileAttributeViews().contains(view)) {
      throw new UnsupportedOperationException("attribute view " + view);
    }
    Map<String, Object> all =
        new SandboxFileAttributes(info(sandboxPath(path), follow(options))).toMap(view);
    if (names.equals("*")) {
      return all;
    }
    Map<String, Object> some = new LinkedHashMap<>();
    for (String name : names.split(",")) {
      if (!all.containsKey(name)) {
        throw new IllegalArgumentException("no attribute " + view + ":" + name);
      }
      some.put(name, all.get(name));
    }
    return some;
  }

  @Override
  public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
      throws IOException {
    SandboxPath p = sandboxPath(path);
    int colon = attribute.indexOf(':');
    String name = colon < 0 ? attribute : attribute.substring(colon + 1);
    // Times and modes must land after every write in flight (put -p sets them on an open handle).
    p.getFileSystem().commitWrites();
    AttributeView view = new AttributeView(p, follow(options));
    switch (name) {
      case "lastModifiedTime" -> view.setTimes((FileTime) value, null, null);
      case "lastAccessTime" -> view.setTimes(null, (FileTime) value, null);
      case "permissions" -> {
        @SuppressWarnings("unchecked")
        Set<PosixFilePermission> perms = (Set<PosixFilePermission>) value;
        view.setPermissions(perms);
      }
      case "mode" -> files(p).chmod(p.remote(), ((Number) value).intValue() & 07777);
      case "owner", "uid" -> files(p).chown(p.remote(), NumericPrincipals.idOf(value), -1);
      case "group", "gid" -> files(p).chown(p.remote(), -1, NumericPrincipals.idOf(value));
      default -> throw new UnsupportedOperationException("setting attribute " + attribute);
    }
  }

  /** The basic, owner and posix views of one sandbox file. */
  private static final class AttributeView implements PosixFileAttributeView {
    private final SandboxPath path;
    private final boolean follow;

    AttributeView(SandboxPath path, boolean follow) {
      this.path = path;
      this.follow = follow;
    }

    @Override
    public String name() {
      return "posix";
    }

    @Override
    public PosixFileAttributes readAttributes() throws IOException {
      return new SandboxFileAttributes(info(path, follow));
    }

    /** Sets modification and access times; a creation time is not kept by the agent. */
    @Override
    public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime)
        throws IOException {
      if (lastModifiedTime != null || lastAccessTime != null) {
        path.getFileSystem().commitWrites();
        files(path).setTimes(path.remote(), lastAccessTime, lastModifiedTime);
      }
    }

    @Override
    public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
      // Keep setuid, setgid and sticky: a permission set cannot express them.
      int special = info(path, true).mode() & 07000;
      files(path).chmod(path.remote(), special | SandboxFileAttributes.toMode(perms));
    }

    @Override
    public void setGroup(GroupPrincipal group) throws IOException {
      files(path).chown(path.remote(), -1, NumericPrincipals.idOf(group));
    }

    @Override
    public UserPrincipal getOwner() throws IOException {
      return readAttributes().owner();
    }

    @Override
    public void setOwner(UserPrincipal owner) throws IOException {
      files(path).chown(path.remote(), NumericPrincipals.idOf(owner), -1);
    }
  }
}
