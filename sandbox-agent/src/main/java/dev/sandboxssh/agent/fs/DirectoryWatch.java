package dev.sandboxssh.agent.fs;

import dev.sandboxssh.api.v1.Change;
import dev.sandboxssh.api.v1.Empty;
import dev.sandboxssh.api.v1.WatchEvent;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent.Kind;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Watch stream: an inotify instance (the JDK's WatchService) on a directory, and on every
 * directory below it when recursive, relayed as events on a thread of its own until the caller
 * cancels.
 */
final class DirectoryWatch {
  private static final Logger log = LoggerFactory.getLogger(DirectoryWatch.class);
  private static final AtomicInteger THREADS = new AtomicInteger();
  private static final long KEEPALIVE_SECONDS = 30;

  /**
   * Directories one recursive watch registers at most: each costs an inotify watch of the user's
   * limit (fs.inotify.max_user_watches, 8192 by default on older kernels), shared with everything
   * else the sandbox's user watches.
   */
  static final int MAX_DIRECTORIES = 4096;

  private final Path root;
  private final boolean recursive;
  private final ServerCallStreamObserver<WatchEvent> out;
  private final WatchService service;
  private final Map<WatchKey, Path> dirs = new HashMap<>();
  private boolean lost;

  private DirectoryWatch(
      Path root,
      boolean recursive,
      ServerCallStreamObserver<WatchEvent> out,
      WatchService service) {
    this.root = root;
    this.recursive = recursive;
    this.out = out;
    this.service = service;
  }

  /** Starts watching {@code dir} (a resolved, confined directory) for {@code out}. */
  static void start(Path dir, boolean recursive, ServerCallStreamObserver<WatchEvent> out)
      throws IOException {
    WatchService service = FileSystems.getDefault().newWatchService();
    DirectoryWatch watch = new DirectoryWatch(dir, recursive, out, service);
    try {
      watch.register(dir);
    } catch (IOException | RuntimeException e) {
      service.close();
      throw e;
    }
    out.setOnCancelHandler(watch::close);
    Thread t = new Thread(watch::run, "watch-" + THREADS.incrementAndGet());
    t.setDaemon(true);
    t.start();
  }

  private void close() {
    try {
      service.close();
    } catch (IOException e) {
      log.debug("closing a watch: {}", e.toString());
    }
  }

  private void register(Path dir) throws IOException {
    if (recursive) {
      walk(dir, false);
    } else {
      add(dir);
    }
  }

  /**
   * Watches {@code dir} and every directory below it. With {@code report}, for a directory made
   * while the watch runs, what it already holds is reported as created: it was made before its
   * inotify watch was in place, so it has no event of its own.
   */
  private void walk(Path dir, boolean report) throws IOException {
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
              throws IOException {
            if (dirs.size() >= MAX_DIRECTORIES) {
              lost |= report;
              return FileVisitResult.TERMINATE;
            }
            add(d);
            if (report && !d.equals(dir)) {
              send(change(d, Change.Kind.CREATED));
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            if (report) {
              send(change(file, Change.Kind.CREATED));
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) {
            // Unreadable or gone meanwhile: watched as far as it can be.
            return FileVisitResult.CONTINUE;
          }
        });
  }

  private void add(Path dir) throws IOException {
    WatchKey key =
        dir.register(
            service,
            StandardWatchEventKinds.ENTRY_CREATE,
            StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
    dirs.put(key, dir);
  }

  private void run() {
    try {
      // Always sent: the caller waits for it before it counts on any change being seen.
      out.onNext(WatchEvent.newBuilder().setStarted(Empty.getDefaultInstance()).build());
      while (!out.isCancelled()) {
        WatchKey key = service.poll(KEEPALIVE_SECONDS, TimeUnit.SECONDS);
        if (key == null) {
          send(WatchEvent.newBuilder().setKeepalive(Empty.getDefaultInstance()).build());
          continue;
        }
        Path dir = dirs.get(key);
        for (java.nio.file.WatchEvent<?> event : key.pollEvents()) {
          Kind<?> kind = event.kind();
          if (kind == StandardWatchEventKinds.OVERFLOW || dir == null) {
            lost = true;
            continue;
          }
          Path child = dir.resolve((Path) event.context());
          send(change(child, kind(kind)));
          if (recursive
              && kind == StandardWatchEventKinds.ENTRY_CREATE
              && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)) {
            try {
              walk(child, true);
            } catch (IOException e) {
              // Gone again, or the inotify limit: its own changes go unseen.
              lost = true;
            }
          }
        }
        if (!key.reset()) {
          dirs.remove(key);
        }
      }
    } catch (ClosedWatchServiceException e) {
      // Cancelled.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      if (!out.isCancelled()) {
        log.warn("watch of {} failed", root, e);
        out.onError(e);
      }
    } finally {
      close();
    }
  }

  private WatchEvent change(Path path, Change.Kind kind) {
    return WatchEvent.newBuilder()
        .setChange(Change.newBuilder().setName(root.relativize(path).toString()).setKind(kind))
        .build();
  }

  /** Sends {@code event} when the caller is ready; otherwise drops it and owes an overflow. */
  private void send(WatchEvent event) {
    if (!out.isReady()) {
      lost = true;
      return;
    }
    if (lost) {
      lost = false;
      out.onNext(WatchEvent.newBuilder().setOverflow(Empty.getDefaultInstance()).build());
    }
    out.onNext(event);
  }

  private static Change.Kind kind(Kind<?> kind) {
    if (kind == StandardWatchEventKinds.ENTRY_CREATE) {
      return Change.Kind.CREATED;
    }
    if (kind == StandardWatchEventKinds.ENTRY_DELETE) {
      return Change.Kind.REMOVED;
    }
    return Change.Kind.MODIFIED;
  }
}
