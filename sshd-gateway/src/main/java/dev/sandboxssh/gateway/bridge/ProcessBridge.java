package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.concurrent.SerialExecutor;
import dev.sandboxssh.gateway.bridge.forward.Forwarding;
import dev.sandboxssh.gateway.routing.DescriptorSocket;
import dev.sandboxssh.gateway.routing.IdleInputStream;
import dev.sandboxssh.gateway.routing.ProcessStdio;
import dev.sandboxssh.gateway.routing.SandboxLease;
import dev.sandboxssh.gateway.routing.SandboxUnreachableException;
import dev.sandboxssh.gateway.session.LoginName;
import dev.sandboxssh.gateway.session.SessionContext;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.CommandResult;
import dev.sandboxssh.sdk.SandboxException;
import dev.sandboxssh.sdk.SandboxUnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridges a {@code shell} or {@code exec} channel to a process in the sandbox.
 *
 * <p>Backpressure is end to end by blocking: the SDK delivers output on this channel's own thread
 * and asks the agent for more only after {@link #toClient} returned, and {@link #toClient} blocks
 * while the client's SSH window is full; in the other direction the input (a {@link StdinReceiver})
 * is written by a bridge thread that blocks in {@code sendStdin} while gRPC flow control holds it,
 * and the client's window reopens only as bytes reach the process. So a client that stops reading
 * slows the process instead of growing the gateway's heap, and a slow sandbox never stalls another
 * channel.
 *
 * <p>A local agent hands the process's pipes or terminal to the gateway (see {@link
 * DescriptorSocket}), and then bytes and keystrokes skip the agent: one thread per output stream
 * reads the process and writes to the client, and input goes into the process's stdin straight from
 * MINA's I/O thread whenever that does not block. Resizes, signals and the exit status still go
 * through the agent.
 */
public final class ProcessBridge implements Command {
  private static final Logger log = LoggerFactory.getLogger(ProcessBridge.class);

  /** The sandbox user's shell: {@code $SHELL -c COMMAND} for exec, a login shell for shell. */
  static final String SHELL = "/bin/bash";

  /** Bytes read per call from a handed-off process's stdout or stderr pipe. */
  private static final int PIPE_READ = 256 * 1024;

  /** Bytes read per call from a handed-off terminal, and from stderr, which rarely carries bulk. */
  private static final int SMALL_READ = 16 * 1024;

  /**
   * How long a terminal's output is still read after its process exited, for background jobs that
   * print a last line (the agent keeps the same grace for terminals it reads itself).
   */
  private static final Duration PTY_DRAIN = Duration.ofSeconds(2);

  /**
   * After a hang-up, a handed-off process's output is still read (and dropped) this long, or until
   * it exits: a shell reports its killed child on stderr before its HUP trap runs, and with the
   * pipe closed that report would kill it with SIGPIPE first.
   */
  private static final Duration HANGUP_DRAIN = Duration.ofSeconds(2);

  /**
   * How long a handed-off stream's reader waits for output on its own thread before it parks the
   * stream (see {@link #pump}): long enough that typing and a running build keep their thread.
   */
  public static final Duration IDLE_PARK = Duration.ofSeconds(5);

  /** What the client asked for. */
  public enum Kind {
    SHELL,
    EXEC
  }

  private final Kind kind;
  private final String commandLine;
  private final Duration detachedTimeout;
  private final Executor threads;
  private final SerialExecutor signals;
  private StdinReceiver input;
  private OutputStream out;
  private OutputStream err;
  private ExitCallback exitCallback;
  private GatewayChannelSession channel;
  private SessionContext context;
  private volatile CommandHandle handle;
  // The process's own stdio when the agent handed it over: its bytes then skip the agent.
  private volatile ProcessStdio stdio;
  private volatile boolean finished;
  private volatile boolean destroyed;
  // A named session or an attached process: it outlives this channel, which only watches it.
  private volatile boolean persistent;
  private volatile boolean readOnly;
  // Window changes sent to the agent but not yet applied; keystrokes wait for them (see start).
  private final AtomicInteger pendingResizes = new AtomicInteger();
  private final Object resized = new Object();

  /**
   * A bridge for one channel.
   *
   * @param commandLine the exec request's command, or null for a shell
   * @param detachedTimeout how long a named session lives with no client attached
   * @param threads runs the bridge's blocking work, off MINA's I/O threads
   */
  private ProcessBridge(Kind kind, String commandLine, Duration detachedTimeout, Executor threads) {
    this.kind = kind;
    this.commandLine = commandLine;
    this.detachedTimeout = detachedTimeout;
    this.threads = threads;
    this.signals = new SerialExecutor(threads);
  }

  /**
   * A bridge for {@code channel}, which takes the channel's input itself (see {@link
   * StdinReceiver}): MINA then gives it no input stream.
   */
  public static ProcessBridge on(
      ChannelSession channel,
      Kind kind,
      String commandLine,
      Duration detachedTimeout,
      Executor threads) {
    ProcessBridge bridge = new ProcessBridge(kind, commandLine, detachedTimeout, threads);
    bridge.input =
        new StdinReceiver(
            channel, threads, () -> bridge.pendingResizes.get() == 0, bridge::awaitResizes);
    channel.setDataReceiver(bridge.input);
    return bridge;
  }

  /** Not called: the bridge takes the channel's input through its {@link StdinReceiver}. */
  @Override
  public void setInputStream(InputStream in) {}

  @Override
  public void setOutputStream(OutputStream out) {
    this.out = out;
  }

  @Override
  public void setErrorStream(OutputStream err) {
    this.err = err;
  }

  @Override
  public void setExitCallback(ExitCallback callback) {
    this.exitCallback = callback;
  }

  @Override
  public void start(ChannelSession session, Environment env) {
    this.channel = (GatewayChannelSession) session;
    this.context = SessionContext.of(session.getSession());
    context.recordChannel(
        (kind == Kind.EXEC ? "exec" : "shell") + (channel.pty() != null ? "+pty" : ""));
    // Listeners run on the I/O thread that parsed the request; the agent call must not. One
    // serial queue keeps window-changes and signals in the order the client sent them.
    // A window change is counted here, on the I/O thread, before MINA hands on the bytes that
    // follow it; the stdin pump waits for the count to drop, so a command typed after a resize
    // sees the new size (sshd applies both in order too).
    env.addSignalListener(
        (ch, signal) -> {
          boolean resize = signal == Signal.WINCH;
          if (resize) {
            pendingResizes.incrementAndGet();
          }
          signals.execute(
              () -> {
                try {
                  onSignal(signal);
                } finally {
                  if (resize && pendingResizes.decrementAndGet() == 0) {
                    synchronized (resized) {
                      resized.notifyAll();
                    }
                  }
                }
              });
        });
    // start() runs on an I/O thread: reaching the sandbox may take seconds.
    threads.execute(this::run);
  }

  private void run() {
    SandboxLease lease;
    try {
      lease = context.lease();
    } catch (SandboxUnreachableException e) {
      failAndExit(e.getMessage());
      return;
    }
    LoginName name = context.name();
    persistent = name.form() == LoginName.Form.NAMED || name.form() == LoginName.Form.PROCESS;
    readOnly = persistent && name.readOnly();
    // A persistent process's output must reach the agent's scrollback and every attached client,
    // so it stays with the agent.
    Optional<DescriptorSocket> descriptors = persistent ? Optional.empty() : lease.descriptors();
    CommandOptions options =
        CommandOptions.create()
            .handOff(descriptors.isPresent())
            .background(true)
            .envs(channel.acceptedEnv())
            // After the client's, as sshd sets them: a client cannot pass for another address.
            .envs(
                ConnectionEnv.of(
                    channel.getSession().getRemoteAddress(),
                    channel.getSession().getLocalAddress()))
            .stdoutTo(new ToClient(out))
            .stderrTo(new ToClient(err));
    PtyRequest pty = channel.pty();
    if (pty != null) {
      options
          .env("TERM", pty.term())
          .pty(pty.cols(), pty.rows(), pty.term(), pty.modes())
          .ptyPathEnv("SSH_TTY");
    }
    // ssh -A: SSH_AUTH_SOCK names the socket inside the sandbox that leads to the client's agent.
    try {
      String authSock = Forwarding.agentSocketFor(channel);
      if (authSock != null) {
        options.env("SSH_AUTH_SOCK", authSock);
      }
    } catch (IOException | SandboxException e) {
      log.warn("sandbox {}: no agent forwarding: {}", context.sandboxId(), e.getMessage());
    }
    boolean terminal = pty != null;
    boolean forwardEof = true;
    try {
      if (persistent) {
        PersistentSessions.Opened opened =
            new PersistentSessions(
                    context.sandboxId(), lease.sandbox().commands(), name, detachedTimeout)
                .open(commandLine, options.shell(SHELL), pty, out);
        handle = opened.handle();
        terminal = opened.terminal();
        // Only the client that started a command may end its input; an attached client's EOF
        // (its stdin ran out) must not end a process others share.
        forwardEof = opened.created() && !opened.terminal();
      } else {
        handle =
            kind == Kind.EXEC
                ? lease.sandbox().commands().run(commandLine, options.shell(SHELL))
                : lease.sandbox().commands().start(List.of(SHELL, "-l"), options);
      }
    } catch (PersistentSessions.Refused e) {
      failAndExit(e.getMessage());
      return;
    } catch (IOException e) {
      failAndExit("sandbox " + context.sandboxId() + ": client went away: " + e.getMessage());
      return;
    } catch (SandboxUnavailableException e) {
      context.invalidate(lease);
      failAndExit("sandbox " + context.sandboxId() + ": agent connection lost: " + e.getMessage());
      return;
    } catch (SandboxException e) {
      failAndExit("sandbox " + context.sandboxId() + ": cannot start: " + e.getMessage());
      return;
    }
    if (descriptors.isPresent() && !handle.handOff().isEmpty()) {
      try {
        stdio = descriptors.get().take(handle.handOff(), pty != null);
      } catch (IOException e) {
        hangUp();
        failAndExit(
            "sandbox "
                + context.sandboxId()
                + ": cannot take the command's stdio: "
                + e.getMessage());
        return;
      }
    }
    if (destroyed) {
      hangUp();
      return;
    }
    input.attach(new ToProcess(stdio, handle, terminal, forwardEof));
    CompletableFuture<Void> drained = stdio == null ? null : readOutput(stdio);
    // No thread waits for the exit: an idle shell must cost the gateway no stack of its own.
    handle
        .exit()
        .whenCompleteAsync(
            (result, failure) -> finish(lease, result, failure, drained, pty != null), threads);
  }

  /** Sends the exit status once the process exited and its output was read. */
  private void finish(
      SandboxLease lease,
      CommandResult result,
      Throwable failure,
      CompletableFuture<Void> drained,
      boolean terminal) {
    Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
    if (cause != null) {
      closeStdio();
      if (cause instanceof SandboxUnavailableException) {
        context.invalidate(lease);
      }
      failAndExit(
          "sandbox " + context.sandboxId() + ": agent connection lost: " + cause.getMessage());
      return;
    }
    try {
      if (drained != null) {
        awaitOutput(drained, terminal);
      }
    } catch (ExecutionException e) {
      log.debug("output copy failed: {}", e.getCause().toString());
    } catch (InterruptedException e) {
      closeStdio();
      Thread.currentThread().interrupt();
      failAndExit("sandbox " + context.sandboxId() + ": gateway interrupted");
      return;
    }
    finished = true;
    exitWith(result);
    closeStdio();
  }

  private void closeStdio() {
    ProcessStdio io = stdio;
    if (io != null) {
      io.close();
    }
  }

  /** Copies a handed-off process's output to the client, each stream on a thread of its own. */
  private CompletableFuture<Void> readOutput(ProcessStdio io) {
    CompletableFuture<Void> out =
        copy(io.stdout(), new ToClient(this.out), io.stderr() == null ? SMALL_READ : PIPE_READ);
    return io.stderr() == null
        ? out
        : CompletableFuture.allOf(out, copy(io.stderr(), new ToClient(err), SMALL_READ));
  }

  private CompletableFuture<Void> copy(IdleInputStream from, OutputStream to, int chunk) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    threads.execute(() -> pump(from, to, chunk, done));
    return done;
  }

  /**
   * Copies until the stream ends, or until nothing came for {@link #IDLE_PARK}: then the stream
   * parks, and the copy goes on on some thread once there is output again. An idle session thus
   * holds neither a thread nor a buffer.
   */
  private void pump(
      IdleInputStream from, OutputStream to, int chunk, CompletableFuture<Void> done) {
    byte[] buffer = new byte[chunk];
    boolean parked = false;
    try {
      int n;
      while ((n = from.read(buffer, 0, chunk, (int) IDLE_PARK.toMillis())) > 0) {
        to.write(buffer, 0, n);
      }
      if (n == 0) { // idle, not at its end
        from.whenReadable(() -> threads.execute(() -> pump(from, to, chunk, done)));
        parked = true;
      }
    } catch (IOException e) {
      log.debug("output copy stopped: {}", e.toString());
    } finally {
      if (!parked) {
        done.complete(null);
      }
    }
  }

  /**
   * Waits for the output to reach its end after the exit: for pipes as long as it takes (as sshd
   * waits for EOF), for a terminal at most {@link #PTY_DRAIN}, since a background job may hold it.
   */
  private void awaitOutput(CompletableFuture<Void> drained, boolean terminal)
      throws ExecutionException, InterruptedException {
    if (!terminal) {
      drained.get();
      return;
    }
    try {
      drained.get(PTY_DRAIN.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      stdio.close();
      try {
        drained.get(PTY_DRAIN.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException stillBusy) {
        log.debug("terminal output still being written after close");
      }
    }
  }

  private void exitWith(CommandResult result) {
    try {
      if (result.signal() != null && !result.signal().isEmpty()) {
        context.recordExit(result.signal());
        err.flush();
        channel.exitWithSignal(result.signal(), false);
      } else {
        int code = result.exitCode() == null ? ExitCodes.GATEWAY_FAILURE : result.exitCode();
        context.recordExit(Integer.toString(code));
        err.flush();
        exitCallback.onExit(code);
      }
    } catch (IOException e) {
      log.debug("channel closed before the exit status was sent: {}", e.toString());
    }
  }

  /**
   * Writes each chunk of output to the client as it arrives, blocking while the client's window is
   * full. The chunk is the received gRPC message's own array (no copy on the way); MINA copies it
   * into its packets before write returns.
   */
  private final class ToClient extends OutputStream {
    private final OutputStream channel;

    ToClient(OutputStream channel) {
      this.channel = channel;
    }

    @Override
    public void write(byte[] data, int offset, int length) {
      try {
        channel.write(data, offset, length);
        channel.flush();
        context.addBytesOut(length);
      } catch (IOException e) {
        // The channel is closing; destroy() hangs the process up.
        log.debug("dropping {} bytes for a closed channel", length);
      }
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }
  }

  /** Where the channel's input goes: the handed-off stdin, or the agent. */
  private final class ToProcess implements StdinReceiver.Target {
    private final ProcessStdio io;
    private final CommandHandle handle;
    private final boolean terminal;
    private final boolean forwardEof;

    ToProcess(ProcessStdio io, CommandHandle handle, boolean terminal, boolean forwardEof) {
      this.io = io;
      this.handle = handle;
      this.terminal = terminal;
      this.forwardEof = forwardEof;
    }

    @Override
    public int writeNow(byte[] b, int off, int len) throws IOException {
      if (readOnly) {
        return len; // a watcher's keystrokes are dropped
      }
      // Through the agent every write may wait for gRPC flow control: never on an I/O thread.
      int n = io == null ? 0 : io.writeNow(b, off, len);
      context.addBytesIn(n);
      return n;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (readOnly) {
        return;
      }
      if (io != null) {
        io.stdin().write(b, off, len);
      } else {
        handle.sendStdin(b, off, len);
      }
      context.addBytesIn(len);
    }

    @Override
    public void end() throws IOException {
      if (readOnly || !forwardEof) {
        return;
      }
      // A terminal's EOF is its EOF character, which the agent knows from the terminal's modes.
      if (io != null && !terminal) {
        io.stdin().close();
      } else {
        handle.closeStdin();
      }
    }
  }

  /** Holds input back while window changes sent before it are not applied yet (see start). */
  private void awaitResizes() {
    synchronized (resized) {
      while (pendingResizes.get() > 0 && !finished) {
        try {
          resized.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void onSignal(Signal signal) {
    CommandHandle h = handle;
    if (h == null || finished || readOnly) {
      return;
    }
    try {
      if (signal == Signal.WINCH) {
        PtyRequest pty = channel.pty();
        if (pty != null) {
          h.resize(pty.cols(), pty.rows());
        }
        return;
      }
      // As sshd: a "signal" request goes to the process itself (RFC 4254 section 6.9).
      context.lease().sandbox().commands().signal(h.pid(), signal.name(), false);
    } catch (SandboxException | SandboxUnreachableException e) {
      log.debug("signal {} not delivered: {}", signal, e.getMessage());
    }
  }

  private void failAndExit(String line) {
    finished = true;
    log.warn("session failed: {}", line);
    context.recordExit(Integer.toString(ExitCodes.GATEWAY_FAILURE));
    try {
      err.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      err.flush();
    } catch (IOException e) {
      // The client is gone; nobody is left to tell.
    }
    exitCallback.onExit(ExitCodes.GATEWAY_FAILURE, line);
  }

  /**
   * The client went away first: as with sshd, the process group gets SIGHUP; a persistent process
   * only loses this watcher.
   */
  private void hangUp() {
    CommandHandle h = handle;
    if (h == null) {
      return;
    }
    if (persistent) {
      h.disconnect();
      return;
    }
    try {
      try {
        h.signal("HUP");
      } catch (SandboxException e) {
        // It exited as the client left (not found once reaped); its end still comes.
        log.debug("hang-up: {}", e.getMessage());
      }
      if (stdio != null) {
        h.exit().get(HANGUP_DRAIN.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (SandboxException | ExecutionException | TimeoutException e) {
      log.debug("hang-up: {}", e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeStdio();
      h.disconnect();
    }
  }

  @Override
  public void destroy(ChannelSession session) {
    destroyed = true;
    if (!finished) {
      threads.execute(this::hangUp);
    }
  }
}
