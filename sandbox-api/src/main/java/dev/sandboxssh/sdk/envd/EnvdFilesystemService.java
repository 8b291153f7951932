package dev.sandboxssh.sdk.envd;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
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
import dev.sandboxssh.api.v1.WriteOpen;
import dev.sandboxssh.api.v1.WriteReply;
import dev.sandboxssh.api.v1.WriteRequest;
import dev.sandboxssh.envd.filesystem.EntryInfo;
import dev.sandboxssh.envd.filesystem.ListDirRequest;
import dev.sandboxssh.envd.filesystem.ListDirResponse;
import dev.sandboxssh.envd.filesystem.StatRequest;
import dev.sandboxssh.envd.filesystem.StatResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The agent's FilesystemService, served by calling an envd. Stat, listing and whole-file transfers
 * use envd's own calls ({@code filesystem.Filesystem}, {@code GET}/{@code POST /files} with byte
 * ranges); what envd has no call for, or does differently (its MakeDir and upload make missing
 * parents, its Move overwrites, its Remove is recursive), is done exactly with a coreutils command
 * run through envd's process API (see {@link EnvdShell}). Numeric owners come from the names envd
 * reports, looked up once in the sandbox. Hand-offs ({@code Open}) are declined, as by any agent
 * reached over the network.
 */
final class EnvdFilesystemService extends FilesystemServiceGrpc.FilesystemServiceImplBase {
  private static final int CHUNK = 64 * 1024;
  private static final int LIST_BATCH = 1000;

  /** Fails unless $1 exists (as a symlink, too), with the text strerror gives ENOENT. */
  private static final String EXISTS =
      "[ -e \"$1\" ] || [ -L \"$1\" ] || { printf '%s: No such file or directory\\n' \"$1\" >&2;"
          + " exit 1; }; ";

  private final EnvdHttp http;
  private final EnvdShell shell;
  private final Executor pumps;
  private final Duration callTimeout;
  private final Map<String, Integer> uids = new ConcurrentHashMap<>();
  private final Map<String, Integer> gids = new ConcurrentHashMap<>();
  private volatile String home;

  EnvdFilesystemService(EnvdHttp http, EnvdShell shell, Executor pumps, Duration callTimeout) {
    this.http = http;
    this.shell = shell;
    this.pumps = pumps;
    this.callTimeout = callTimeout;
    uids.put("root", 0);
    gids.put("root", 0);
  }

  /** Runs {@code call}, answering its one reply or its error. */
  private static <T> void unary(StreamObserver<T> observer, java.util.function.Supplier<T> call) {
    T reply;
    try {
      reply = call.get();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
      return;
    }
    observer.onNext(reply);
    observer.onCompleted();
  }

  private EntryInfo envdStat(String path) {
    return http.unary(
            "filesystem.Filesystem/Stat",
            StatRequest.newBuilder().setPath(path).build(),
            StatResponse.parser(),
            callTimeout)
        .getEntry();
  }

  @Override
  public void lstat(PathRequest request, StreamObserver<FileInfo> observer) {
    unary(observer, () -> info(request.getPath(), envdStat(request.getPath())));
  }

  @Override
  public void stat(PathRequest request, StreamObserver<FileInfo> observer) {
    unary(
        observer,
        () -> {
          EntryInfo entry = envdStat(request.getPath());
          if (entry.getType() != dev.sandboxssh.envd.filesystem.FileType.FILE_TYPE_SYMLINK) {
            return info(request.getPath(), entry);
          }
          // envd describes a symlink itself; what it leads to comes from stat -L.
          String out =
              shell.check(
                  request.getPath(),
                  "exec stat -L -c '%f %s %u %g %X %Y %h %U %G' -- \"$1\"",
                  List.of(request.getPath()));
          return parseStat(request.getPath(), out);
        });
  }

  /** {@code stat -c '%f %s %u %g %X %Y %h %U %G'}: raw mode in hex, then decimal fields. */
  static FileInfo parseStat(String path, String line) {
    String[] f = line.strip().split(" ");
    if (f.length < 9) {
      throw Status.INTERNAL
          .withDescription("unexpected stat output for " + path)
          .asRuntimeException();
    }
    int mode = Integer.parseInt(f[0], 16);
    int format = mode & 0170000;
    FileType type =
        format == 0100000
            ? FileType.FILE_TYPE_REGULAR
            : format == 0040000
                ? FileType.FILE_TYPE_DIRECTORY
                : format == 0120000 ? FileType.FILE_TYPE_SYMLINK : FileType.FILE_TYPE_OTHER;
    return FileInfo.newBuilder()
        .setName(path)
        .setType(type)
        .setMode(mode)
        .setSize(Long.parseLong(f[1]))
        .setUid(Integer.parseUnsignedInt(f[2]))
        .setGid(Integer.parseUnsignedInt(f[3]))
        .setAtimeNs(Long.parseLong(f[4]) * 1_000_000_000L)
        .setMtimeNs(Long.parseLong(f[5]) * 1_000_000_000L)
        .setNlink(Integer.parseInt(f[6]))
        .setOwner(f[7])
        .setGroup(f[8])
        .build();
  }

  /** envd's entry as stat(2) would give it, as far as envd tells. */
  private FileInfo info(String name, EntryInfo e) {
    int typeBits;
    FileType type;
    switch (e.getType()) {
      case FILE_TYPE_FILE:
        typeBits = 0100000;
        type = FileType.FILE_TYPE_REGULAR;
        break;
      case FILE_TYPE_DIRECTORY:
        typeBits = 0040000;
        type = FileType.FILE_TYPE_DIRECTORY;
        break;
      case FILE_TYPE_SYMLINK:
        typeBits = 0120000;
        type = FileType.FILE_TYPE_SYMLINK;
        break;
      default:
        typeBits = 0;
        type = FileType.FILE_TYPE_OTHER;
    }
    Timestamp t = e.getModifiedTime();
    long mtime = t.getSeconds() * 1_000_000_000L + t.getNanos();
    FileInfo.Builder out =
        FileInfo.newBuilder()
            .setName(name)
            .setType(type)
            .setMode(typeBits | (e.getMode() & 07777))
            .setSize(e.getSize())
            .setOwner(e.getOwner())
            .setGroup(e.getGroup())
            .setUid(id(uids, e.getOwner(), "id -u -- \"$1\""))
            .setGid(id(gids, e.getGroup(), "getent group \"$1\" | cut -d: -f3"))
            // envd reports no access time; the modification time is the nearest honest value.
            .setAtimeNs(mtime)
            .setMtimeNs(mtime)
            .setNlink(type == FileType.FILE_TYPE_DIRECTORY ? 2 : 1);
    if (e.hasSymlinkTarget()) {
      out.setSymlinkTarget(e.getSymlinkTarget());
    }
    return out.build();
  }

  /** The numeric id of a user or group name, asked of the sandbox once; 65534 when unknown. */
  private int id(Map<String, Integer> cache, String name, String script) {
    if (name.isEmpty()) {
      return 65534;
    }
    Integer known = cache.get(name);
    if (known != null) {
      return known;
    }
    int id = 65534;
    try {
      EnvdShell.Result r = shell.run(script, List.of(name));
      id = Integer.parseInt(r.stdout().strip());
    } catch (RuntimeException e) {
      // Unknown there too (or numeric-less output): nobody, as ls shows an unmapped id.
    }
    cache.put(name, id);
    return id;
  }

  @Override
  public void listDir(PathRequest request, StreamObserver<DirEntries> observer) {
    ListDirResponse listing;
    try {
      EntryInfo dir = envdStat(request.getPath());
      if (dir.getType() != dev.sandboxssh.envd.filesystem.FileType.FILE_TYPE_DIRECTORY) {
        Metadata trailers = new Metadata();
        trailers.put(EnvdHttp.ERRNO, "ENOTDIR");
        throw Status.FAILED_PRECONDITION
            .withDescription(request.getPath() + ": Not a directory")
            .asRuntimeException(trailers);
      }
      listing =
          http.unary(
              "filesystem.Filesystem/ListDir",
              ListDirRequest.newBuilder().setPath(request.getPath()).setDepth(1).build(),
              ListDirResponse.parser(),
              callTimeout);
    } catch (StatusRuntimeException e) {
      observer.onError(e);
      return;
    }
    DirEntries.Builder batch = DirEntries.newBuilder();
    for (EntryInfo e : listing.getEntriesList()) {
      batch.addEntries(info(e.getName(), e));
      if (batch.getEntriesCount() == LIST_BATCH) {
        observer.onNext(batch.build());
        batch = DirEntries.newBuilder();
      }
    }
    if (batch.getEntriesCount() > 0) {
      observer.onNext(batch.build());
    }
    observer.onCompleted();
  }

  @Override
  public void read(ReadRequest request, StreamObserver<FileChunk> observer) {
    ServerCallStreamObserver<FileChunk> call = (ServerCallStreamObserver<FileChunk>) observer;
    // The pump stops at its next chunk once the caller cancelled, closing the download.
    ReadyGate gate = new ReadyGate(call, () -> {});
    pumps.execute(
        () -> {
          try (InputStream in = http.download(request.getPath(), request.getOffset())) {
            long left = request.getLength() == 0 ? Long.MAX_VALUE : request.getLength();
            byte[] buffer = new byte[CHUNK];
            while (left > 0) {
              int n = in.readNBytes(buffer, 0, (int) Math.min(buffer.length, left));
              if (n <= 0) {
                break;
              }
              left -= n;
              if (!gate.awaitReady()) {
                return;
              }
              call.onNext(
                  FileChunk.newBuilder().setData(ByteString.copyFrom(buffer, 0, n)).build());
            }
            call.onCompleted();
          } catch (StatusRuntimeException e) {
            call.onError(e);
          } catch (IOException e) {
            call.onError(
                Status.UNAVAILABLE
                    .withDescription(
                        "reading " + request.getPath() + " from envd: " + e.getMessage())
                    .asRuntimeException());
          }
        });
  }

  @Override
  public StreamObserver<WriteRequest> write(StreamObserver<WriteReply> observer) {
    ServerCallStreamObserver<WriteReply> call = (ServerCallStreamObserver<WriteReply>) observer;
    // One message at a time: the writer asks for the next once envd took this one.
    call.disableAutoRequest();
    call.request(1);
    return new Writer(call);
  }

  /** What the writer queue carries besides data. */
  private enum Mark {
    END,
    ABORT
  }

  /** One Write call: its data, queued as it arrives, goes to envd from a pump thread. */
  private final class Writer implements StreamObserver<WriteRequest> {
    private final ServerCallStreamObserver<WriteReply> call;
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private boolean opened;

    /** Set once the call failed: what the caller still sends is dropped, not queued. */
    private volatile boolean failed;

    Writer(ServerCallStreamObserver<WriteReply> call) {
      this.call = call;
    }

    @Override
    public void onNext(WriteRequest message) {
      if (failed) {
        call.request(1);
        return;
      }
      if (!opened) {
        opened = true;
        if (!message.hasOpen()) {
          failed = true;
          call.onError(
              Status.INVALID_ARGUMENT
                  .withDescription("the first message of Write must carry open")
                  .asRuntimeException());
          return;
        }
        WriteOpen open = message.getOpen();
        pumps.execute(() -> write(open));
      }
      if (!message.getData().isEmpty()) {
        queue.add(message.getData());
      } else {
        call.request(1);
      }
    }

    @Override
    public void onError(Throwable t) {
      queue.add(Mark.ABORT);
    }

    @Override
    public void onCompleted() {
      queue.add(Mark.END);
    }

    /** The next piece of data, null at the end; asks the caller for more as it takes one. */
    private ByteString take() throws IOException {
      Object next;
      try {
        next = queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted");
      }
      if (next == Mark.END) {
        return null;
      }
      if (next == Mark.ABORT) {
        throw new IOException("the writer went away");
      }
      call.request(1);
      return (ByteString) next;
    }

    private void write(WriteOpen open) {
      String path = open.getPath();
      long[] written = {0};
      try {
        boolean existed = exists(path);
        boolean whole =
            open.getCreate()
                && open.getTruncate()
                && !open.getExclusive()
                && !open.getAppend()
                && open.getOffset() == 0;
        if (whole) {
          upload(path, written);
        } else {
          throughShell(open, written);
        }
        int mode = open.getMode() == 0 ? 0644 : open.getMode() & 07777;
        if (!existed && mode != 0644) {
          shell.check(
              path, "exec chmod \"$2\" -- \"$1\"", List.of(path, Integer.toOctalString(mode)));
        }
        call.onNext(WriteReply.newBuilder().setBytesWritten(written[0]).build());
        call.onCompleted();
      } catch (StatusRuntimeException e) {
        drain();
        call.onError(e);
      } catch (IOException e) {
        drain();
        call.onError(Status.CANCELLED.withDescription(e.getMessage()).asRuntimeException());
      }
    }

    /**
     * Whether {@code path} exists; when it does not, its parent must, because the agent's write
     * makes no directories and envd's would.
     */
    private boolean exists(String path) {
      try {
        EntryInfo e = envdStat(path);
        if (e.getType() == dev.sandboxssh.envd.filesystem.FileType.FILE_TYPE_DIRECTORY) {
          Metadata trailers = new Metadata();
          trailers.put(EnvdHttp.ERRNO, "EISDIR");
          throw Status.FAILED_PRECONDITION
              .withDescription(path + ": Is a directory")
              .asRuntimeException(trailers);
        }
        return true;
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
          throw e;
        }
      }
      shell.check(
          path,
          "p=$(dirname -- \"$1\"); [ -d \"$p\" ] || { printf '%s: No such file or directory\\n' \"$p\" >&2; exit 1; }",
          List.of(path));
      return false;
    }

    private void upload(String path, long[] written) throws IOException {
      IOException[] failure = new IOException[1];
      InputStream body =
          new InputStream() {
            private ByteString current = ByteString.EMPTY;
            private int at;
            private boolean done;

            @Override
            public int read() throws IOException {
              byte[] one = new byte[1];
              return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              while (!done && at == current.size()) {
                try {
                  ByteString next = take();
                  if (next == null) {
                    done = true;
                  } else {
                    current = next;
                    at = 0;
                  }
                } catch (IOException e) {
                  failure[0] = e;
                  throw e;
                }
              }
              if (done) {
                return -1;
              }
              int n = Math.min(len, current.size() - at);
              current.copyTo(b, at, off, n);
              at += n;
              written[0] += n;
              return n;
            }
          };
      try {
        http.upload(path, () -> body);
      } catch (StatusRuntimeException e) {
        if (failure[0] != null) {
          throw failure[0];
        }
        throw e;
      }
    }

    /** Writes that a whole-file upload cannot express, with the shell's own redirections and dd. */
    private void throughShell(WriteOpen open, long[] written) throws IOException {
      String path = open.getPath();
      String script;
      if (open.getExclusive() && open.getCreate()) {
        // noclobber: the redirection fails when the file exists, as O_EXCL does.
        script = "set -C; exec cat > \"$1\"";
      } else {
        String must = open.getCreate() ? "" : EXISTS;
        if (open.getAppend()) {
          script = must + "exec cat >> \"$1\"";
        } else {
          script =
              must
                  + (open.getTruncate() ? ": > \"$1\"; " : "")
                  + "exec dd of=\"$1\" bs=65536 seek=\"$2\" oflag=seek_bytes conv=notrunc status=none";
        }
      }
      EnvdShell.Running running =
          shell.startWithInput(script, List.of(path, Long.toString(open.getOffset())));
      try {
        for (ByteString data; (data = take()) != null; ) {
          running.write(data);
          written[0] += data.size();
        }
        running.closeStdin();
      } catch (IOException | RuntimeException e) {
        running.abandon();
        throw e;
      }
      EnvdShell.Result result = running.await();
      if (result.exitCode() != 0) {
        throw EnvdShell.failure(path, result);
      }
    }

    /** After a failure: what the caller still sends is dropped, and asked for so it can finish. */
    private void drain() {
      failed = true;
      queue.clear();
      call.request(1);
    }
  }

  @Override
  public void open(OpenRequest request, StreamObserver<OpenReply> observer) {
    Metadata trailers = new Metadata();
    trailers.put(EnvdHttp.ERRNO, "EOPNOTSUPP");
    observer.onError(
        Status.FAILED_PRECONDITION
            .withDescription("an envd hands no descriptors over")
            .asRuntimeException(trailers));
  }

  @Override
  public void mkdir(MkdirRequest request, StreamObserver<Empty> observer) {
    int mode = request.getMode() == 0 ? 0755 : request.getMode() & 07777;
    String script =
        request.getParents()
            ? "[ -d \"$1\" ] && exit 0; exec mkdir -p -m \"$2\" -- \"$1\""
            : "exec mkdir -m \"$2\" -- \"$1\"";
    run(observer, request.getPath(), script, request.getPath(), Integer.toOctalString(mode));
  }

  @Override
  public void remove(RemoveRequest request, StreamObserver<Empty> observer) {
    String script;
    if (request.getRecursive()) {
      script = EXISTS + "exec rm -rf -- \"$1\"";
    } else if (request.getDirectoryOnly()) {
      script = "exec rmdir -- \"$1\"";
    } else {
      script =
          "if [ -d \"$1\" ] && [ ! -L \"$1\" ]; then exec rmdir -- \"$1\"; else exec rm -- \"$1\"; fi";
    }
    run(observer, request.getPath(), script, request.getPath());
  }

  @Override
  public void rename(RenameRequest request, StreamObserver<Empty> observer) {
    String script =
        request.getOverwrite()
            ? "exec mv -f -T -- \"$1\" \"$2\""
            : "if [ -e \"$2\" ] || [ -L \"$2\" ]; then printf '%s: File exists\\n' \"$2\" >&2;"
                + " exit 1; fi; exec mv -f -T -- \"$1\" \"$2\"";
    run(observer, request.getFrom(), script, request.getFrom(), request.getTo());
  }

  @Override
  public void chmod(ChmodRequest request, StreamObserver<Empty> observer) {
    run(
        observer,
        request.getPath(),
        "exec chmod \"$2\" -- \"$1\"",
        request.getPath(),
        Integer.toOctalString(request.getMode() & 07777));
  }

  @Override
  public void chown(ChownRequest request, StreamObserver<Empty> observer) {
    String owner =
        (request.getUid() < 0 ? "" : Long.toString(request.getUid()))
            + (request.getGid() < 0 ? "" : ":" + request.getGid());
    if (owner.isEmpty()) {
      run(observer, request.getPath(), EXISTS, request.getPath());
      return;
    }
    run(observer, request.getPath(), "exec chown -h -- \"$2\" \"$1\"", request.getPath(), owner);
  }

  @Override
  public void setTimes(SetTimesRequest request, StreamObserver<Empty> observer) {
    run(
        observer,
        request.getPath(),
        EXISTS
            + "if [ -n \"$2\" ]; then touch -c -a -d \"$2\" -- \"$1\" || exit 1; fi;"
            + " if [ -n \"$3\" ]; then touch -c -m -d \"$3\" -- \"$1\" || exit 1; fi",
        request.getPath(),
        touchTime(request.getAtimeNs()),
        touchTime(request.getMtimeNs()));
  }

  /** {@code @SECONDS.NANOS} as touch -d reads it; empty for "leave unchanged". */
  static String touchTime(long ns) {
    if (ns == 0) {
      return "";
    }
    return "@"
        + Math.floorDiv(ns, 1_000_000_000L)
        + "."
        + String.format("%09d", Math.floorMod(ns, 1_000_000_000L));
  }

  @Override
  public void truncate(TruncateRequest request, StreamObserver<Empty> observer) {
    run(
        observer,
        request.getPath(),
        EXISTS + "exec truncate -s \"$2\" -- \"$1\"",
        request.getPath(),
        Long.toString(request.getSize()));
  }

  @Override
  public void symlink(SymlinkRequest request, StreamObserver<Empty> observer) {
    run(
        observer,
        request.getLink(),
        "exec ln -s -- \"$1\" \"$2\"",
        request.getTarget(),
        request.getLink());
  }

  @Override
  public void link(SymlinkRequest request, StreamObserver<Empty> observer) {
    run(
        observer,
        request.getLink(),
        "exec ln -- \"$1\" \"$2\"",
        request.getTarget(),
        request.getLink());
  }

  @Override
  public void readlink(PathRequest request, StreamObserver<PathReply> observer) {
    unary(
        observer,
        () ->
            PathReply.newBuilder()
                .setPath(
                    chomp(
                        shell.check(
                            request.getPath(),
                            EXISTS
                                + "[ -L \"$1\" ] || { printf '%s: Invalid argument\\n' \"$1\" >&2;"
                                + " exit 1; }; exec readlink -- \"$1\"",
                            List.of(request.getPath()))))
                .build());
  }

  @Override
  public void realpath(PathRequest request, StreamObserver<PathReply> observer) {
    unary(
        observer,
        () ->
            PathReply.newBuilder()
                .setPath(
                    chomp(
                        shell.check(
                            request.getPath(),
                            "exec realpath -m -- \"$1\"",
                            List.of(request.getPath()))))
                .build());
  }

  @Override
  public void statvfs(PathRequest request, StreamObserver<StatvfsReply> observer) {
    unary(
        observer,
        () -> {
          String[] f =
              shell
                  .check(
                      request.getPath(),
                      "exec stat -f -c '%s %S %b %f %a %c %d %l %i' -- \"$1\"",
                      List.of(request.getPath()))
                  .strip()
                  .split(" ");
          if (f.length < 9) {
            throw Status.INTERNAL
                .withDescription("unexpected stat -f output for " + request.getPath())
                .asRuntimeException();
          }
          return StatvfsReply.newBuilder()
              .setBlockSize(Long.parseUnsignedLong(f[0]))
              .setFragmentSize(Long.parseUnsignedLong(f[1]))
              .setBlocks(Long.parseUnsignedLong(f[2]))
              .setBlocksFree(Long.parseUnsignedLong(f[3]))
              .setBlocksAvailable(Long.parseUnsignedLong(f[4]))
              .setFiles(Long.parseUnsignedLong(f[5]))
              .setFilesFree(Long.parseUnsignedLong(f[6]))
              .setFilesAvailable(Long.parseUnsignedLong(f[6]))
              .setNameMax(Long.parseUnsignedLong(f[7]))
              .setFsid(Long.parseUnsignedLong(f[8], 16))
              .build();
        });
  }

  @Override
  public void home(Empty request, StreamObserver<PathReply> observer) {
    unary(
        observer,
        () -> {
          String known = home;
          if (known == null) {
            known = shell.check("~", "printf '%s' \"$HOME\"", List.of());
            home = known;
          }
          return PathReply.newBuilder().setPath(known).build();
        });
  }

  private void run(StreamObserver<Empty> observer, String path, String script, String... args) {
    unary(
        observer,
        () -> {
          shell.check(path, script, List.of(args));
          return Empty.getDefaultInstance();
        });
  }

  private static String chomp(String s) {
    return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
  }
}
