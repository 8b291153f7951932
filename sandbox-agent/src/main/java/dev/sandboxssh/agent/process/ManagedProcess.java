package dev.sandboxssh.agent.process;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.End;
import dev.sandboxssh.api.v1.ProcessEvent;
import dev.sandboxssh.api.v1.ProcessInfo;
import dev.sandboxssh.api.v1.Started;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A process the agent runs, and the callers attached to its output.
 *
 * <p>Output fans out to every attached stream, in order, and at the pace of the slowest: one reader
 * thread per output stream hands each chunk to every sink before reading the next. The {@code end}
 * event follows all output: it is sent once the process was reaped and its pipes reached EOF (as
 * sshd waits for EOF), or, for a terminal, shortly after the process exited.
 */
final class ManagedProcess {
  /**
   * At most this much is read from a process per event: large, because per-event costs (thread
   * hand-offs, one SSH write) and not bytes bound throughput.
   */
  static final int CHUNK = 256 * 1024;

  /** A terminal's or a tagged command's recent output kept for callers that re-attach. */
  static final int SCROLLBACK = 256 * 1024;

  /** Output of a terminal whose process exited is still read this long (background jobs). */
  private static final Duration PTY_DRAIN = Duration.ofSeconds(2);

  private final NativeProcess process;
  private final ProcessInfo info;
  private final boolean background;
  private final Scrollback scrollback;
  private final Duration unattendedTimeout;
  private final ScheduledExecutorService scheduler;
  private final Consumer<ManagedProcess> onUnattended;
  private final List<EventSink> sinks = new CopyOnWriteArrayList<>();
  private long attachments; // guarded by broadcastLock: counts attaches, to cancel a stale timer
  private boolean endSeen; // guarded by broadcastLock
  private final Object broadcastLock = new Object();
  private final CompletableFuture<End> ended = new CompletableFuture<>();
  private volatile String killReason;
  private volatile boolean handedOff;

  /**
   * A process and its output.
   *
   * @param unattendedTimeout for a background process: with no caller attached for this long, it is
   *     handed to {@code onUnattended}; zero means never
   */
  ManagedProcess(
      NativeProcess process,
      ProcessInfo info,
      Duration unattendedTimeout,
      ScheduledExecutorService scheduler,
      Consumer<ManagedProcess> onUnattended) {
    this.process = process;
    this.info = info;
    this.background = info.getBackground();
    // A tagged command is one a caller means to come back to: keep what it printed meanwhile.
    this.scrollback =
        process.isPty() || !info.getTag().isEmpty() ? new Scrollback(SCROLLBACK) : null;
    this.unattendedTimeout = background ? unattendedTimeout : Duration.ZERO;
    this.scheduler = scheduler;
    this.onUnattended = onUnattended;
  }

  int pid() {
    return process.pid();
  }

  String tag() {
    return info.getTag();
  }

  ProcessInfo info() {
    return info.toBuilder().setAttached(sinks.size()).setHandedOff(handedOff).build();
  }

  /** Whether some caller received the end event (so a late Connect by tag has nothing to add). */
  boolean endSeen() {
    synchronized (broadcastLock) {
      return endSeen;
    }
  }

  boolean isPty() {
    return process.isPty();
  }

  boolean isBackground() {
    return background;
  }

  /** How long a background process may run with nobody attached; zero means forever. */
  Duration unattendedTimeout() {
    return unattendedTimeout;
  }

  NativeProcess process() {
    return process;
  }

  /**
   * Gives the process's stdio to the caller (see {@link NativeProcess#handOff}): the agent reads
   * none of its output, so it keeps no scrollback, and the end follows the exit alone.
   */
  int[] handOff() throws IOException {
    int[] descriptors = process.handOff();
    handedOff = true;
    return descriptors;
  }

  /** Completes with the {@code end} event once the process and its output are done. */
  CompletableFuture<End> ended() {
    return ended;
  }

  /**
   * Starts reading output; {@code onEnd} runs once the end event went out. Call after the first
   * sink is attached, so that it sees every byte.
   */
  void startReading(ScheduledExecutorService scheduler, Consumer<ManagedProcess> onEnd) {
    CompletableFuture<Void> out =
        handedOff
            ? CompletableFuture.completedFuture(null)
            : pump(process.stdout(), process.isPty() ? Kind.PTY : Kind.STDOUT);
    CompletableFuture<Void> err =
        handedOff || process.stderr() == null
            ? CompletableFuture.completedFuture(null)
            : pump(process.stderr(), Kind.STDERR);
    CompletableFuture<Void> drained = CompletableFuture.allOf(out, err);
    CompletableFuture<Void> outputDone =
        process.isPty()
            ? drained.applyToEither(
                process
                    .exit()
                    .thenCompose(
                        s -> {
                          CompletableFuture<Void> later = new CompletableFuture<>();
                          scheduler.schedule(
                              () -> later.complete(null),
                              PTY_DRAIN.toMillis(),
                              TimeUnit.MILLISECONDS);
                          return later;
                        }),
                v -> v)
            : drained;
    process
        .exit()
        .thenCombine(outputDone, (status, ignored) -> status)
        .thenAccept(
            status -> {
              process.closeStreams();
              End end = toEnd(status);
              synchronized (broadcastLock) {
                ProcessEvent event = ProcessEvent.newBuilder().setEnd(end).build();
                for (EventSink sink : sinks) {
                  if (sink.send(event)) {
                    endSeen = true;
                  }
                  sink.complete();
                }
                sinks.clear();
                ended.complete(end);
              }
              onEnd.accept(this);
            });
  }

  /**
   * Kills the process group (SIGKILL) and records why, for the end event; false if the process was
   * already reaped, so the signal reached nothing.
   */
  boolean kill(String reason) {
    // The reason goes first, so a death the signal causes is never reported without it; a process
    // that was already gone keeps its own end.
    String before = killReason;
    killReason = reason;
    if (process.signal(Signals.KILL, true)) {
      return true;
    }
    killReason = before;
    return false;
  }

  /**
   * Attaches a caller: {@code started} (naming the handed-off descriptors for the Start caller),
   * then (with {@code replay}, for a terminal or a tagged command) the scrollback, then live
   * output; a process that already ended gets its {@code end} at once.
   */
  void attach(EventSink sink, boolean replay, String handOff) {
    synchronized (broadcastLock) {
      attachments++;
      sink.send(
          ProcessEvent.newBuilder()
              .setStarted(Started.newBuilder().setPid(pid()).setTag(tag()).setHandOff(handOff))
              .build());
      if (replay && scrollback != null) {
        for (ProcessEvent past : scrollback.replay(CHUNK)) {
          sink.send(past);
        }
      }
      End end = ended.getNow(null);
      if (end != null) {
        if (sink.send(ProcessEvent.newBuilder().setEnd(end).build())) {
          endSeen = true;
        }
        sink.complete();
        return;
      }
      sinks.add(sink);
    }
  }

  /** Detaches a caller that went away. */
  void detach(EventSink sink) {
    if (sinks.remove(sink)) {
      unattendedIfEmpty();
    }
  }

  /**
   * Starts the unattended clock once the last caller left: if nobody attaches before it runs out,
   * the process goes to {@code onUnattended}.
   */
  private void unattendedIfEmpty() {
    if (unattendedTimeout.isZero()) {
      return;
    }
    long generation;
    synchronized (broadcastLock) {
      if (!sinks.isEmpty() || ended.isDone()) {
        return;
      }
      generation = attachments;
    }
    scheduler.schedule(
        () -> {
          synchronized (broadcastLock) {
            if (attachments != generation || !sinks.isEmpty() || ended.isDone()) {
              return;
            }
          }
          onUnattended.accept(this);
        },
        unattendedTimeout.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private enum Kind {
    STDOUT,
    STDERR,
    PTY
  }

  private CompletableFuture<Void> pump(InputStream in, Kind kind) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              byte[] buffer = new byte[CHUNK];
              try {
                for (int n; (n = in.read(buffer, 0, buffer.length)) >= 0; ) {
                  // A fast writer leaves more in the pipe: take it into the same event, since
                  // per-event costs, not bytes, bound throughput.
                  for (int more; n < buffer.length && (more = in.available()) > 0; ) {
                    int m = in.read(buffer, n, Math.min(more, buffer.length - n));
                    if (m < 0) {
                      break;
                    }
                    n += m;
                  }
                  if (n > 0) {
                    broadcast(kind, ByteString.copyFrom(buffer, 0, n));
                  }
                }
              } catch (IOException e) {
                // The stream was closed under us: treat as EOF.
              } finally {
                done.complete(null);
              }
            },
            "output-" + kind.name().toLowerCase() + "-" + pid());
    reader.setDaemon(true);
    reader.start();
    return done;
  }

  private void broadcast(Kind kind, ByteString bytes) {
    ProcessEvent.Builder event = ProcessEvent.newBuilder();
    switch (kind) {
      case STDOUT -> event.setStdout(bytes);
      case STDERR -> event.setStderr(bytes);
      case PTY -> event.setPty(bytes);
    }
    ProcessEvent built = event.build();
    boolean lost = false;
    synchronized (broadcastLock) {
      if (scrollback != null) {
        scrollback.append(
            switch (kind) {
              case STDOUT -> Scrollback.Stream.STDOUT;
              case STDERR -> Scrollback.Stream.STDERR;
              case PTY -> Scrollback.Stream.PTY;
            },
            bytes);
      }
      for (EventSink sink : sinks) {
        if (!sink.send(built)) {
          lost |= sinks.remove(sink);
        }
      }
    }
    if (lost) {
      unattendedIfEmpty();
    }
  }

  private End toEnd(ExitStatus status) {
    End.Builder end = End.newBuilder();
    if (status.code() != null) {
      end.setExitCode(status.code());
    } else if (status.signal() != null) {
      end.setSignal(status.signal()).setCoreDumped(status.coreDumped());
    } else {
      end.setError("exit status lost");
    }
    if (killReason != null) {
      end.setError(killReason);
    }
    return end.build();
  }
}
