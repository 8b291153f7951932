package dev.sandboxssh.sdk;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.End;
import dev.sandboxssh.api.v1.InputReply;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.KillRequest;
import dev.sandboxssh.api.v1.ProcessEvent;
import dev.sandboxssh.api.v1.SignalRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A running command or terminal: its output stream, its input, and its end (E2B's {@code
 * CommandHandle}).
 *
 * <p>Output arrives on a serial executor of this handle; the next event is requested from the agent
 * only after the previous callback returned, so a blocking callback slows this process, through
 * gRPC flow control, and nothing else.
 */
public final class CommandHandle {
  /**
   * Output events requested ahead of the callbacks, so the next one is already here when a callback
   * returns; few enough to bound what one handle buffers (an event is at most 256 KiB).
   */
  private static final int IN_FLIGHT = 4;

  /** How long {@link #sendStdin} waits for a stalled agent before giving up. */
  private static final Duration INPUT_STALL = Duration.ofMinutes(10);

  private final AgentStubs stubs;
  private final OutputSink onStdout;
  private final OutputSink onStderr;
  private final CompletableFuture<Integer> started = new CompletableFuture<>();
  private final CompletableFuture<CommandResult> exit = new CompletableFuture<>();
  private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  private final Object inputLock = new Object();
  private volatile ClientCallStreamObserver<?> outputCall;
  private volatile boolean disconnected;
  private volatile String handOff = "";
  private InputCall input; // guarded by inputLock

  CommandHandle(AgentStubs stubs, OutputSink onStdout, OutputSink onStderr) {
    this.stubs = stubs;
    this.onStdout = onStdout;
    this.onStderr = onStderr;
  }

  /** The observer to pass to Start or Connect. */
  ClientResponseObserver<Object, ProcessEvent> observer() {
    return new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<Object> call) {
        outputCall = call;
        call.disableAutoRequestWithInitial(IN_FLIGHT);
      }

      @Override
      public void onNext(ProcessEvent event) {
        handle(event);
        ClientCallStreamObserver<?> call = outputCall;
        if (call != null && !disconnected) {
          call.request(1);
        }
      }

      @Override
      public void onError(Throwable t) {
        SandboxException failure =
            disconnected
                ? new SandboxException(SandboxException.Code.CANCELLED, "handle disconnected", t)
                : SandboxException.from(t);
        started.completeExceptionally(failure);
        exit.completeExceptionally(failure);
      }

      @Override
      public void onCompleted() {
        SandboxException early =
            new SandboxException(
                SandboxException.Code.INTERNAL, "agent ended the stream without an end", null);
        started.completeExceptionally(early);
        exit.completeExceptionally(early);
      }
    };
  }

  private void handle(ProcessEvent event) {
    switch (event.getEventCase()) {
      case STARTED -> {
        handOff = event.getStarted().getHandOff();
        started.complete(event.getStarted().getPid());
      }
      case STDOUT, PTY ->
          deliver(
              onStdout,
              stdout,
              event.getEventCase() == ProcessEvent.EventCase.PTY
                  ? event.getPty()
                  : event.getStdout());
      case STDERR -> deliver(onStderr, stderr, event.getStderr());
      case END -> exit.complete(result(event.getEnd()));
      default -> {
        // Keepalives and events of newer agents carry nothing for us.
      }
    }
  }

  private static void deliver(OutputSink callback, ByteArrayOutputStream sink, ByteString data) {
    try {
      if (callback == null) {
        data.writeTo(sink);
      } else {
        callback.accept(data);
      }
    } catch (IOException e) {
      // A stream sink that failed (stdoutTo): the chunk is dropped, as documented there.
    }
  }

  private CommandResult result(End end) {
    return new CommandResult(
        end.hasExitCode() ? end.getExitCode() : null,
        end.getSignal().isEmpty() ? null : end.getSignal(),
        stdout.toString(StandardCharsets.UTF_8),
        stderr.toString(StandardCharsets.UTF_8),
        end.getError().isEmpty() ? null : end.getError());
  }

  /** Blocks until the agent reported the pid, or fails. */
  CommandHandle awaitStarted(Duration timeout) {
    try {
      started.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return this;
    } catch (ExecutionException e) {
      throw SandboxException.from(e.getCause());
    } catch (TimeoutException e) {
      disconnect();
      throw new SandboxUnavailableException(
          SandboxException.Code.DEADLINE_EXCEEDED,
          "the agent did not start the process in " + timeout.toSeconds() + " s",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted", e);
    }
  }

  /**
   * The name under which the agent's descriptor socket hands over this process's stdio, when it was
   * started with {@link CommandOptions#handOff} and the agent agreed; empty otherwise, and then
   * output arrives through this handle.
   */
  public String handOff() {
    started.join();
    return handOff;
  }

  /** The process id inside the sandbox. */
  public int pid() {
    return started.join();
  }

  /**
   * Completes when the process ended (after every output callback ran), or exceptionally with
   * {@link SandboxUnavailableException} when the agent went away.
   */
  public CompletableFuture<CommandResult> exit() {
    return exit;
  }

  /** Waits for the process to end. */
  public CommandResult waitFor() {
    try {
      return exit.get();
    } catch (ExecutionException e) {
      throw SandboxException.from(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted", e);
    }
  }

  /** Waits at most {@code timeout}; null when the process is still running then. */
  public CommandResult waitFor(Duration timeout) {
    try {
      return exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return null;
    } catch (ExecutionException e) {
      throw SandboxException.from(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted", e);
    }
  }

  /**
   * Writes to the process's stdin (or types into its terminal), in order; blocks while the agent is
   * not ready for more, which is how a slow reader pushes back on the writer.
   */
  public void sendStdin(byte[] data) {
    sendStdin(data, 0, data.length);
  }

  /**
   * As {@link #sendStdin(byte[])}, for {@code length} bytes of {@code data} from {@code offset}.
   */
  public void sendStdin(byte[] data, int offset, int length) {
    ByteString chunk = ByteString.copyFrom(data, offset, length);
    synchronized (inputLock) {
      openInput().send(InputRequest.newBuilder().setData(chunk).build());
    }
  }

  /** Closes stdin (for a terminal: sends its EOF character). */
  public void closeStdin() {
    synchronized (inputLock) {
      InputCall in = openInput();
      in.send(InputRequest.newBuilder().setEof(true).build());
      in.finish();
      input = null;
    }
  }

  /** Kills the process (SIGKILL to its process group). */
  public void kill() {
    try {
      stubs.processBlocking().kill(KillRequest.newBuilder().setPid(pid()).build());
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }

  /** Sends a signal by name ("HUP", "INT"...) to the process group. */
  public void signal(String name) {
    try {
      stubs
          .processBlocking()
          .sendSignal(
              SignalRequest.newBuilder()
                  .setPid(pid())
                  .setSignal(name)
                  .setProcessGroup(true)
                  .build());
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }

  /** Resizes the process's terminal. */
  public void resize(int cols, int rows) {
    new Commands(stubs).resize(pid(), cols, rows);
  }

  /** Stops receiving output; the process keeps running (a background or terminal one does). */
  public void disconnect() {
    disconnected = true;
    ClientCallStreamObserver<?> call = outputCall;
    if (call != null) {
      call.cancel("disconnected", null);
    }
    synchronized (inputLock) {
      if (input != null) {
        input.finish();
        input = null;
      }
    }
  }

  private InputCall openInput() {
    if (input == null) {
      input = new InputCall(pid());
    }
    return input;
  }

  /** One StreamInput call, written only while gRPC says the agent is ready. */
  private final class InputCall implements ClientResponseObserver<InputRequest, InputReply> {
    private final int pid;
    private final Object ready = new Object();
    private final StreamObserver<InputRequest> requests;
    private ClientCallStreamObserver<InputRequest> call;
    private volatile Throwable failure;
    private boolean first = true;

    InputCall(int pid) {
      this.pid = pid;
      this.requests = stubs.processAsync().streamInput(this);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<InputRequest> call) {
      this.call = call;
      call.setOnReadyHandler(this::wake);
    }

    void send(InputRequest message) {
      if (first) {
        message = message.toBuilder().setPid(pid).build();
        first = false;
      }
      long deadline = System.nanoTime() + INPUT_STALL.toNanos();
      synchronized (ready) {
        while (failure == null && !call.isReady()) {
          if (System.nanoTime() > deadline) {
            throw new SandboxUnavailableException(
                SandboxException.Code.DEADLINE_EXCEEDED, "the agent stopped taking input", null);
          }
          try {
            ready.wait(200);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted", e);
          }
        }
      }
      if (failure != null) {
        throw SandboxException.from(failure);
      }
      requests.onNext(message);
    }

    void finish() {
      try {
        requests.onCompleted();
      } catch (RuntimeException e) {
        // Already failed; nothing left to close.
      }
    }

    @Override
    public void onNext(InputReply reply) {}

    @Override
    public void onError(Throwable t) {
      failure =
          t.getCause() != null && Status.fromThrowable(t).getCode() == Status.Code.UNKNOWN
              ? t.getCause()
              : t;
      wake();
    }

    @Override
    public void onCompleted() {}

    private void wake() {
      synchronized (ready) {
        ready.notifyAll();
      }
    }
  }
}
