package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.concurrent.SerialExecutor;
import dev.sandboxssh.gateway.bridge.forward.Forwarding;
import dev.sandboxssh.gateway.routing.SandboxLease;
import dev.sandboxssh.gateway.routing.SandboxUnreachableException;
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
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
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
 * while the client's SSH window is full; in the other direction the stdin pump blocks in {@code
 * sendStdin} while gRPC flow control holds it, and MINA only reopens the client's window as the
 * pump reads. So a client that stops reading slows the process instead of growing the gateway's
 * heap, and a slow sandbox never stalls another channel.
 */
public final class ProcessBridge implements Command {
  private static final Logger log = LoggerFactory.getLogger(ProcessBridge.class);

  /** The sandbox user's shell: {@code $SHELL -c COMMAND} for exec, a login shell for shell. */
  static final String SHELL = "/bin/bash";

  // One gRPC message per read: the larger, the fewer per-message costs (thread hand-offs, framing)
  // per byte uploaded. MINA's channel window (2 MiB) bounds what one read can return.
  private static final int STDIN_CHUNK = 256 * 1024;

  /** What the client asked for. */
  public enum Kind {
    SHELL,
    EXEC
  }

  private final Kind kind;
  private final String commandLine;
  private final Executor threads;
  private final SerialExecutor signals;
  private InputStream in;
  private OutputStream out;
  private OutputStream err;
  private ExitCallback exitCallback;
  private GatewayChannelSession channel;
  private SessionContext context;
  private volatile CommandHandle handle;
  private volatile boolean finished;
  private volatile boolean destroyed;
  // Window changes sent to the agent but not yet applied; keystrokes wait for them (see start).
  private final AtomicInteger pendingResizes = new AtomicInteger();
  private final Object resized = new Object();

  /**
   * A bridge for one channel.
   *
   * @param commandLine the exec request's command, or null for a shell
   * @param threads runs the bridge's blocking work, off MINA's I/O threads
   */
  public ProcessBridge(Kind kind, String commandLine, Executor threads) {
    this.kind = kind;
    this.commandLine = commandLine;
    this.threads = threads;
    this.signals = new SerialExecutor(threads);
  }

  @Override
  public void setInputStream(InputStream in) {
    this.in = in;
  }

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
    CommandOptions options =
        CommandOptions.create()
            .background(true)
            .envs(channel.acceptedEnv())
            .stdoutTo(new ToClient(out))
            .stderrTo(new ToClient(err));
    PtyRequest pty = channel.pty();
    if (pty != null) {
      options.env("TERM", pty.term()).pty(pty.cols(), pty.rows(), pty.term(), pty.modes());
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
    try {
      handle =
          kind == Kind.EXEC
              ? lease.sandbox().commands().run(commandLine, options.shell(SHELL))
              : lease.sandbox().commands().start(List.of(SHELL, "-l"), options);
    } catch (SandboxUnavailableException e) {
      context.invalidate(lease);
      failAndExit("sandbox " + context.sandboxId() + ": agent connection lost: " + e.getMessage());
      return;
    } catch (SandboxException e) {
      failAndExit("sandbox " + context.sandboxId() + ": cannot start: " + e.getMessage());
      return;
    }
    if (destroyed) {
      hangUp();
      return;
    }
    threads.execute(this::pumpStdin);
    CommandResult result;
    try {
      result = handle.exit().get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SandboxUnavailableException) {
        context.invalidate(lease);
      }
      failAndExit(
          "sandbox "
              + context.sandboxId()
              + ": agent connection lost: "
              + e.getCause().getMessage());
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failAndExit("sandbox " + context.sandboxId() + ": gateway interrupted");
      return;
    }
    finished = true;
    exitWith(result);
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

  private void pumpStdin() {
    byte[] buffer = new byte[STDIN_CHUNK];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        if (n > 0) {
          awaitResizes();
          handle.sendStdin(buffer, 0, n);
          context.addBytesIn(n);
        }
      }
      handle.closeStdin();
    } catch (IOException | SandboxException e) {
      // The channel or the process ended first; their own paths report it.
      log.debug("stdin pump stopped: {}", e.toString());
    }
  }

  private void awaitResizes() throws IOException {
    synchronized (resized) {
      while (pendingResizes.get() > 0 && !finished) {
        try {
          resized.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }
    }
  }

  private void onSignal(Signal signal) {
    CommandHandle h = handle;
    if (h == null || finished) {
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

  /** The client went away first: as with sshd, the process group gets SIGHUP. */
  private void hangUp() {
    CommandHandle h = handle;
    if (h == null) {
      return;
    }
    try {
      h.signal("HUP");
    } catch (SandboxException e) {
      log.debug("hang-up not delivered: {}", e.getMessage());
    } finally {
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
