package dev.sandboxssh.agent.envd;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import com.sun.net.httpserver.HttpExchange;
import dev.sandboxssh.api.v1.Change;
import dev.sandboxssh.api.v1.DirEntries;
import dev.sandboxssh.api.v1.FileChunk;
import dev.sandboxssh.api.v1.FileInfo;
import dev.sandboxssh.api.v1.FilesystemServiceGrpc;
import dev.sandboxssh.api.v1.MkdirRequest;
import dev.sandboxssh.api.v1.PathRequest;
import dev.sandboxssh.api.v1.ReadRequest;
import dev.sandboxssh.api.v1.RenameRequest;
import dev.sandboxssh.api.v1.WatchEvent;
import dev.sandboxssh.api.v1.WatchRequest;
import dev.sandboxssh.api.v1.WriteOpen;
import dev.sandboxssh.api.v1.WriteReply;
import dev.sandboxssh.api.v1.WriteRequest;
import dev.sandboxssh.envd.filesystem.CreateWatcherRequest;
import dev.sandboxssh.envd.filesystem.CreateWatcherResponse;
import dev.sandboxssh.envd.filesystem.EntryInfo;
import dev.sandboxssh.envd.filesystem.EventType;
import dev.sandboxssh.envd.filesystem.FileType;
import dev.sandboxssh.envd.filesystem.FilesystemEvent;
import dev.sandboxssh.envd.filesystem.GetWatcherEventsRequest;
import dev.sandboxssh.envd.filesystem.GetWatcherEventsResponse;
import dev.sandboxssh.envd.filesystem.ListDirRequest;
import dev.sandboxssh.envd.filesystem.ListDirResponse;
import dev.sandboxssh.envd.filesystem.MakeDirRequest;
import dev.sandboxssh.envd.filesystem.MakeDirResponse;
import dev.sandboxssh.envd.filesystem.MoveRequest;
import dev.sandboxssh.envd.filesystem.MoveResponse;
import dev.sandboxssh.envd.filesystem.RemoveRequest;
import dev.sandboxssh.envd.filesystem.RemoveResponse;
import dev.sandboxssh.envd.filesystem.RemoveWatcherRequest;
import dev.sandboxssh.envd.filesystem.RemoveWatcherResponse;
import dev.sandboxssh.envd.filesystem.StatRequest;
import dev.sandboxssh.envd.filesystem.StatResponse;
import dev.sandboxssh.envd.filesystem.WatchDirRequest;
import dev.sandboxssh.envd.filesystem.WatchDirResponse;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

/**
 * envd's {@code filesystem.Filesystem} service and its {@code /files} upload and download, on the
 * agent's own filesystem service: the same paths, the same confinement to {@code --root}.
 */
final class FilesystemFace {
  private static final int CHUNK = 64 * 1024;

  /** A multipart upload is parsed in memory; the octet-stream form streams instead. */
  private static final int MAX_MULTIPART = 256 * 1024 * 1024;

  private final FilesystemServiceGrpc.FilesystemServiceBlockingStub files;
  private final FilesystemServiceGrpc.FilesystemServiceStub async;
  private final Path home;

  FilesystemFace(Channel channel, Path home) {
    this.files = FilesystemServiceGrpc.newBlockingStub(channel);
    this.async = FilesystemServiceGrpc.newStub(channel);
    this.home = home;
  }

  /** Answers one call to {@code filesystem.Filesystem/METHOD}. */
  void handle(String method, HttpExchange exchange) throws IOException {
    Connect call = Connect.of(exchange, method.equals("WatchDir"));
    if (call == null) {
      return;
    }
    try {
      switch (method) {
        case "Stat":
          call.reply(
              StatResponse.newBuilder()
                  .setEntry(entry(call.read(StatRequest.newBuilder()).getPath()))
                  .build());
          return;
        case "ListDir":
          call.reply(listDir(call.read(ListDirRequest.newBuilder()).build()));
          return;
        case "MakeDir":
          call.reply(makeDir(call.read(MakeDirRequest.newBuilder()).getPath()));
          return;
        case "Move":
          call.reply(move(call.read(MoveRequest.newBuilder()).build()));
          return;
        case "Remove":
          files.remove(
              dev.sandboxssh.api.v1.RemoveRequest.newBuilder()
                  .setPath(call.read(RemoveRequest.newBuilder()).getPath())
                  .setRecursive(true)
                  .build());
          call.reply(RemoveResponse.getDefaultInstance());
          return;
        case "WatchDir":
          watchDir(
              call, call.read(WatchDirRequest.newBuilder()).build(), Connect.timeoutMs(exchange));
          return;
        case "CreateWatcher":
          call.reply(createWatcher(call.read(CreateWatcherRequest.newBuilder()).build()));
          return;
        case "GetWatcherEvents":
          call.reply(watcherEvents(call.read(GetWatcherEventsRequest.newBuilder()).getWatcherId()));
          return;
        case "RemoveWatcher":
          removeWatcher(call.read(RemoveWatcherRequest.newBuilder()).getWatcherId());
          call.reply(RemoveWatcherResponse.getDefaultInstance());
          return;
        default:
          call.fail(
              Status.UNIMPLEMENTED.withDescription(
                  "filesystem.Filesystem/" + method + " is not served"));
      }
    } catch (StatusRuntimeException e) {
      call.fail(e.getStatus());
    }
  }

  /**
   * envd's WatchDir: the agent's Watch, relayed until the caller goes away (seen at the next event
   * or keepalive, at most 30 s later) or its Connect-Timeout-Ms (the SDK's 60 s default) runs out.
   */
  private void watchDir(Connect call, WatchDirRequest request, long timeoutMs) throws IOException {
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      FilesystemServiceGrpc.FilesystemServiceBlockingStub stub =
          timeoutMs > 0 ? files.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS) : files;
      WatchRequest watch =
          WatchRequest.newBuilder()
              .setPath(absolute(request.getPath()))
              .setRecursive(request.getRecursive())
              .build();
      Iterator<WatchEvent> events = context.call(() -> stub.watch(watch));
      try {
        while (events.hasNext()) {
          WatchDirResponse translated = translate(events.next());
          if (translated != null) {
            call.send(translated);
          }
        }
        call.end();
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
          // The caller's own time limit: the watch ends as asked, not as a failure.
          call.end();
        } else {
          call.fail(e.getStatus());
        }
      }
    } catch (StatusRuntimeException | IOException e) {
      throw e;
    } catch (Exception e) {
      throw Status.INTERNAL.withDescription(e.toString()).asRuntimeException();
    } finally {
      context.cancel(null);
    }
  }

  /** One agent watch event as envd's; null for what envd has no event for (an overflow). */
  static WatchDirResponse translate(WatchEvent event) {
    switch (event.getEventCase()) {
      case STARTED:
        return WatchDirResponse.newBuilder()
            .setStart(WatchDirResponse.StartEvent.getDefaultInstance())
            .build();
      case KEEPALIVE:
        return WatchDirResponse.newBuilder()
            .setKeepalive(WatchDirResponse.KeepAlive.getDefaultInstance())
            .build();
      case CHANGE:
        return WatchDirResponse.newBuilder()
            .setFilesystem(filesystemEvent(event.getChange()))
            .build();
      default:
        return null;
    }
  }

  private static FilesystemEvent filesystemEvent(Change change) {
    EventType type;
    switch (change.getKind()) {
      case CREATED:
        type = EventType.EVENT_TYPE_CREATE;
        break;
      case REMOVED:
        type = EventType.EVENT_TYPE_REMOVE;
        break;
      default:
        type = EventType.EVENT_TYPE_WRITE;
    }
    return FilesystemEvent.newBuilder().setName(change.getName()).setType(type).build();
  }

  /** A polled watcher (envd's CreateWatcher): the agent's Watch, its events queued here. */
  private record Watcher(
      Context.CancellableContext context, BlockingQueue<FilesystemEvent> events) {}

  /** Watchers at most; a client that forgets RemoveWatcher cannot pile up inotify instances. */
  static final int MAX_WATCHERS = 64;

  /** Events a watcher keeps until the next GetWatcherEvents; later ones are dropped. */
  static final int MAX_WATCHER_EVENTS = 10_000;

  private final Map<String, Watcher> watchers = new ConcurrentHashMap<>();

  private CreateWatcherResponse createWatcher(CreateWatcherRequest request) {
    if (watchers.size() >= MAX_WATCHERS) {
      throw Status.RESOURCE_EXHAUSTED
          .withDescription("at most " + MAX_WATCHERS + " watchers; remove one first")
          .asRuntimeException();
    }
    Context.CancellableContext context = Context.current().fork().withCancellation();
    WatchRequest watch =
        WatchRequest.newBuilder()
            .setPath(absolute(request.getPath()))
            .setRecursive(request.getRecursive())
            .build();
    Iterator<WatchEvent> events;
    try {
      events = context.call(() -> files.watch(watch));
      // The first event is `started`, or the failure (a missing or non-directory path).
      events.hasNext();
      events.next();
    } catch (StatusRuntimeException e) {
      context.cancel(null);
      throw e;
    } catch (Exception e) {
      context.cancel(null);
      throw Status.INTERNAL.withDescription(e.toString()).asRuntimeException();
    }
    String id = java.util.UUID.randomUUID().toString();
    Watcher watcher = new Watcher(context, new LinkedBlockingQueue<>(MAX_WATCHER_EVENTS));
    watchers.put(id, watcher);
    Thread pump =
        new Thread(
            () -> {
              try {
                while (events.hasNext()) {
                  WatchEvent event = events.next();
                  if (event.hasChange()) {
                    watcher.events().offer(filesystemEvent(event.getChange()));
                  }
                }
              } catch (StatusRuntimeException e) {
                // Removed (cancelled), or the directory went away: no further events.
              }
            },
            "envd-watcher");
    pump.setDaemon(true);
    pump.start();
    return CreateWatcherResponse.newBuilder().setWatcherId(id).build();
  }

  private GetWatcherEventsResponse watcherEvents(String id) {
    Watcher watcher = watchers.get(id);
    if (watcher == null) {
      throw Status.NOT_FOUND.withDescription("no watcher " + id).asRuntimeException();
    }
    List<FilesystemEvent> drained = new ArrayList<>();
    watcher.events().drainTo(drained);
    return GetWatcherEventsResponse.newBuilder().addAllEvents(drained).build();
  }

  private void removeWatcher(String id) {
    Watcher watcher = watchers.remove(id);
    if (watcher == null) {
      throw Status.NOT_FOUND.withDescription("no watcher " + id).asRuntimeException();
    }
    watcher.context().cancel(null);
  }

  /** The absolute path envd reports: relative paths start at the user's home. */
  private String absolute(String path) {
    return home.resolve(path).normalize().toString();
  }

  private EntryInfo entry(String path) {
    String abs = absolute(path);
    FileInfo info = files.lstat(PathRequest.newBuilder().setPath(abs).build());
    return entry(abs, info);
  }

  private static EntryInfo entry(String abs, FileInfo info) {
    Path p = Path.of(abs);
    EntryInfo.Builder out =
        EntryInfo.newBuilder()
            .setName(p.getFileName() == null ? "/" : p.getFileName().toString())
            .setPath(abs)
            .setType(type(info.getType()))
            .setSize(info.getSize())
            .setMode(info.getMode() & 07777)
            .setPermissions(permissions(info))
            .setOwner(info.getOwner())
            .setGroup(info.getGroup())
            .setModifiedTime(
                Timestamp.newBuilder()
                    .setSeconds(Math.floorDiv(info.getMtimeNs(), 1_000_000_000L))
                    .setNanos((int) Math.floorMod(info.getMtimeNs(), 1_000_000_000L)));
    if (info.getType() == dev.sandboxssh.api.v1.FileType.FILE_TYPE_SYMLINK) {
      out.setSymlinkTarget(info.getSymlinkTarget());
    }
    return out.build();
  }

  private static FileType type(dev.sandboxssh.api.v1.FileType type) {
    switch (type) {
      case FILE_TYPE_REGULAR:
        return FileType.FILE_TYPE_FILE;
      case FILE_TYPE_DIRECTORY:
        return FileType.FILE_TYPE_DIRECTORY;
      case FILE_TYPE_SYMLINK:
        return FileType.FILE_TYPE_SYMLINK;
      default:
        // Devices, sockets and fifos: envd has no type for them either.
        return FileType.FILE_TYPE_UNSPECIFIED;
    }
  }

  /** As Go's FileMode.String(), which envd sends: "-rw-r--r--", "drwxr-xr-x", "Lrwxrwxrwx". */
  private static String permissions(FileInfo info) {
    char kind;
    switch (info.getType()) {
      case FILE_TYPE_DIRECTORY:
        kind = 'd';
        break;
      case FILE_TYPE_SYMLINK:
        kind = 'L';
        break;
      case FILE_TYPE_REGULAR:
        kind = '-';
        break;
      default:
        kind = '?';
    }
    StringBuilder s = new StringBuilder().append(kind);
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      s.append((info.getMode() & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    return s.toString();
  }

  private ListDirResponse listDir(ListDirRequest request) {
    // The SDK asks for depth 1 by default; 0 means the same to envd.
    int depth = Math.max(1, request.getDepth());
    ListDirResponse.Builder out = ListDirResponse.newBuilder();
    String dir = absolute(request.getPath());
    FileInfo self = files.stat(PathRequest.newBuilder().setPath(dir).build());
    if (self.getType() != dev.sandboxssh.api.v1.FileType.FILE_TYPE_DIRECTORY) {
      throw Status.INVALID_ARGUMENT
          .withDescription("path " + dir + " is not a directory")
          .asRuntimeException();
    }
    list(dir, depth, out);
    return out.build();
  }

  private void list(String dir, int depth, ListDirResponse.Builder out) {
    Iterator<DirEntries> batches = files.listDir(PathRequest.newBuilder().setPath(dir).build());
    List<String> subdirs = new ArrayList<>();
    while (batches.hasNext()) {
      for (FileInfo info : batches.next().getEntriesList()) {
        String path = dir.endsWith("/") ? dir + info.getName() : dir + "/" + info.getName();
        out.addEntries(entry(path, info));
        if (info.getType() == dev.sandboxssh.api.v1.FileType.FILE_TYPE_DIRECTORY) {
          subdirs.add(path);
        }
      }
    }
    if (depth > 1) {
      for (String sub : subdirs) {
        list(sub, depth - 1, out);
      }
    }
  }

  private MakeDirResponse makeDir(String path) {
    String abs = absolute(path);
    // envd answers AlreadyExists for an existing path, which the SDK turns into `false`.
    try {
      files.lstat(PathRequest.newBuilder().setPath(abs).build());
      throw Status.ALREADY_EXISTS
          .withDescription("path " + abs + " already exists")
          .asRuntimeException();
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
        throw e;
      }
    }
    files.mkdir(MkdirRequest.newBuilder().setPath(abs).setParents(true).build());
    return MakeDirResponse.newBuilder().setEntry(entry(abs)).build();
  }

  private MoveResponse move(MoveRequest request) {
    String to = absolute(request.getDestination());
    ensureParent(to);
    files.rename(
        RenameRequest.newBuilder()
            .setFrom(absolute(request.getSource()))
            .setTo(to)
            .setOverwrite(true)
            .build());
    return MoveResponse.newBuilder().setEntry(entry(to)).build();
  }

  private void ensureParent(String abs) {
    Path parent = Path.of(abs).getParent();
    if (parent != null) {
      files.mkdir(MkdirRequest.newBuilder().setPath(parent.toString()).setParents(true).build());
    }
  }

  /** {@code GET /files?path=P}: the file's bytes; {@code POST}: an upload (multipart or raw). */
  void handleFiles(HttpExchange exchange) throws IOException {
    Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
    // `username` has no counterpart: every file is read and written as the agent's own user.
    try {
      switch (exchange.getRequestMethod()) {
        case "GET":
          download(exchange, query.get("path"));
          return;
        case "POST":
          upload(exchange, query.get("path"));
          return;
        default:
          exchange.getResponseHeaders().set("Allow", "GET, POST");
          EnvdServer.jsonError(exchange, 405, "method not allowed");
      }
    } catch (StatusRuntimeException e) {
      EnvdServer.jsonError(exchange, filesStatus(e.getStatus().getCode()), describe(e));
    }
  }

  private static String describe(StatusRuntimeException e) {
    return e.getStatus().getDescription() == null
        ? e.getStatus().getCode().toString()
        : e.getStatus().getDescription();
  }

  /** The HTTP statuses envd's /files answers with. */
  private static int filesStatus(Status.Code code) {
    switch (code) {
      case NOT_FOUND:
        return 404;
      case INVALID_ARGUMENT:
      case FAILED_PRECONDITION:
      case ALREADY_EXISTS:
        return 400;
      case PERMISSION_DENIED:
        return 403;
      case RESOURCE_EXHAUSTED:
        return 507;
      default:
        return 500;
    }
  }

  private void download(HttpExchange exchange, String path) throws IOException {
    if (path == null || path.isEmpty()) {
      EnvdServer.jsonError(exchange, 400, "path is required");
      return;
    }
    String abs = absolute(path);
    FileInfo info = files.stat(PathRequest.newBuilder().setPath(abs).build());
    if (info.getType() == dev.sandboxssh.api.v1.FileType.FILE_TYPE_DIRECTORY) {
      EnvdServer.jsonError(exchange, 400, "path '" + abs + "' is a directory");
      return;
    }
    long[] range = range(exchange.getRequestHeaders().getFirst("Range"), info.getSize());
    if (range != null && range[0] >= info.getSize()) {
      exchange.getResponseHeaders().set("Content-Range", "bytes */" + info.getSize());
      EnvdServer.jsonError(exchange, 416, "range starts past the end of " + abs);
      return;
    }
    int status = range == null ? 200 : 206;
    ReadRequest.Builder read = ReadRequest.newBuilder().setPath(abs);
    if (range != null) {
      read.setOffset(range[0]).setLength(range[1] - range[0] + 1);
      exchange
          .getResponseHeaders()
          .set("Content-Range", "bytes " + range[0] + "-" + range[1] + "/" + info.getSize());
    }
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      Iterator<FileChunk> chunks = context.call(() -> files.read(read.build()));
      // The first chunk (or the error) before the status line: a failure can still be a 4xx.
      FileChunk first = chunks.hasNext() ? chunks.next() : null;
      exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
      if (first == null) {
        exchange.sendResponseHeaders(status, -1);
        exchange.close();
        return;
      }
      exchange.sendResponseHeaders(status, 0);
      try (OutputStream out = exchange.getResponseBody()) {
        first.getData().writeTo(out);
        while (chunks.hasNext()) {
          chunks.next().getData().writeTo(out);
        }
      }
    } catch (StatusRuntimeException | IOException e) {
      throw e;
    } catch (Exception e) {
      throw Status.INTERNAL.withDescription(e.toString()).asRuntimeException();
    } finally {
      context.cancel(null);
    }
  }

  /**
   * The one byte range of a {@code Range: bytes=FIRST-[LAST]} header, clipped to {@code size}, as
   * envd's http.ServeContent serves it; null for no header or a form not served here (suffix or
   * several ranges), which gets the whole file.
   */
  static long[] range(String header, long size) {
    if (header == null || !header.startsWith("bytes=") || header.indexOf(',') >= 0) {
      return null;
    }
    String spec = header.substring("bytes=".length()).strip();
    int dash = spec.indexOf('-');
    if (dash <= 0) {
      return null;
    }
    try {
      long first = Long.parseLong(spec.substring(0, dash).strip());
      String lastText = spec.substring(dash + 1).strip();
      long last = lastText.isEmpty() ? Long.MAX_VALUE : Long.parseLong(lastText);
      if (first < 0 || last < first) {
        return null;
      }
      // A first byte at or past the end stays as asked: the caller answers 416 for it.
      return new long[] {first, Math.min(last, size - 1)};
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private void upload(HttpExchange exchange, String path) throws IOException {
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    String base = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    InputStream body = exchange.getRequestBody();
    String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
    if (encoding != null && encoding.equalsIgnoreCase("gzip")) {
      body = new GZIPInputStream(body);
    } else if (encoding != null && !encoding.isEmpty() && !encoding.equalsIgnoreCase("identity")) {
      EnvdServer.jsonError(exchange, 415, "unsupported Content-Encoding " + encoding);
      return;
    }
    List<EntryInfo> written = new ArrayList<>();
    if (base.equals("multipart/form-data")) {
      String boundary = parameter(type, "boundary");
      if (boundary == null) {
        EnvdServer.jsonError(exchange, 400, "multipart upload without a boundary");
        return;
      }
      byte[] all = body.readNBytes(MAX_MULTIPART + 1);
      if (all.length > MAX_MULTIPART) {
        EnvdServer.jsonError(exchange, 413, "multipart upload over " + MAX_MULTIPART + " bytes");
        return;
      }
      for (Multipart.Part part : Multipart.parse(all, boundary)) {
        if (!"file".equals(part.name())) {
          continue;
        }
        // envd: the query's path for a single file, else each part's file name.
        String target = path != null && !path.isEmpty() ? path : part.filename();
        if (target == null || target.isEmpty()) {
          EnvdServer.jsonError(exchange, 400, "no path for an uploaded file");
          return;
        }
        written.add(write(target, new ByteArrayInputStream(part.data())));
      }
    } else {
      if (path == null || path.isEmpty()) {
        EnvdServer.jsonError(exchange, 400, "path is required");
        return;
      }
      written.add(write(path, body));
    }
    StringBuilder json = new StringBuilder("[");
    for (EntryInfo e : written) {
      if (json.length() > 1) {
        json.append(',');
      }
      json.append("{\"path\":")
          .append(Connect.quote(e.getPath()))
          .append(",\"name\":")
          .append(Connect.quote(e.getName()))
          .append(",\"type\":\"file\"}");
    }
    byte[] reply = json.append(']').toString().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, reply.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(reply);
    }
  }

  /** Writes one file (parents made, as envd does) from {@code data}, streamed in 64 KiB chunks. */
  private EntryInfo write(String path, InputStream data) throws IOException {
    String abs = absolute(path);
    ensureParent(abs);
    CompletableFuture<WriteReply> done = new CompletableFuture<>();
    Object ready = new Object();
    ClientCallStreamObserver<WriteRequest>[] requests = newObserverSlot();
    async.write(
        new ClientResponseObserver<WriteRequest, WriteReply>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<WriteRequest> stream) {
            requests[0] = stream;
            stream.setOnReadyHandler(
                () -> {
                  synchronized (ready) {
                    ready.notifyAll();
                  }
                });
          }

          @Override
          public void onNext(WriteReply reply) {
            done.complete(reply);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
            synchronized (ready) {
              ready.notifyAll();
            }
          }

          @Override
          public void onCompleted() {}
        });
    ClientCallStreamObserver<WriteRequest> stream = requests[0];
    try {
      stream.onNext(
          WriteRequest.newBuilder()
              .setOpen(
                  WriteOpen.newBuilder()
                      .setPath(abs)
                      .setCreate(true)
                      .setTruncate(true)
                      .setMode(0644))
              .build());
      byte[] buffer = new byte[CHUNK];
      int n;
      while ((n = data.readNBytes(buffer, 0, CHUNK)) > 0) {
        // Wait while the agent is behind: its flow control, not this heap, holds the backlog.
        synchronized (ready) {
          while (!stream.isReady() && !done.isDone()) {
            try {
              ready.wait(200);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IOException("interrupted");
            }
          }
        }
        if (done.isDone()) {
          break;
        }
        stream.onNext(WriteRequest.newBuilder().setData(ByteString.copyFrom(buffer, 0, n)).build());
      }
      stream.onCompleted();
    } catch (IOException | RuntimeException e) {
      stream.cancel("upload failed", e);
      throw e;
    }
    try {
      done.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException) {
        throw (StatusRuntimeException) e.getCause();
      }
      throw Status.INTERNAL.withDescription(e.getCause().toString()).asRuntimeException();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    return entry(abs);
  }

  @SuppressWarnings("unchecked")
  private static ClientCallStreamObserver<WriteRequest>[] newObserverSlot() {
    return new ClientCallStreamObserver[1];
  }

  /** One parameter of a header value ({@code boundary=...}), unquoted. */
  static String parameter(String header, String name) {
    for (String part : header.split(";")) {
      String p = part.strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equalsIgnoreCase(name)) {
        String v = p.substring(eq + 1).strip();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
          v = v.substring(1, v.length() - 1);
        }
        return v;
      }
    }
    return null;
  }

  static Map<String, String> query(String raw) {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw == null) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      out.putIfAbsent(
          URLDecoder.decode(k, StandardCharsets.UTF_8),
          URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return out;
  }
}
