package dev.sandboxssh.sdk.envd;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.ConnectRequest;
import dev.sandboxssh.api.v1.End;
import dev.sandboxssh.api.v1.InputReply;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.Keepalive;
import dev.sandboxssh.api.v1.KillReply;
import dev.sandboxssh.api.v1.KillRequest;
import dev.sandboxssh.api.v1.ListReply;
import dev.sandboxssh.api.v1.ListRequest;
import dev.sandboxssh.api.v1.ProcessEvent;
import dev.sandboxssh.api.v1.ProcessInfo;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import dev.sandboxssh.api.v1.ResizeReply;
import dev.sandboxssh.api.v1.ResizeRequest;
import dev.sandboxssh.api.v1.SignalReply;
import dev.sandboxssh.api.v1.SignalRequest;
import dev.sandboxssh.api.v1.StartRequest;
import dev.sandboxssh.api.v1.Started;
import dev.sandboxssh.envd.process.ConnectResponse;
import dev.sandboxssh.envd.process.ListResponse;
import dev.sandboxssh.envd.process.PTY;
import dev.sandboxssh.envd.process.ProcessConfig;
import dev.sandboxssh.envd.process.ProcessInput;
import dev.sandboxssh.envd.process.ProcessSelector;
import dev.sandboxssh.envd.process.SendSignalRequest;
import dev.sandboxssh.envd.process.SendSignalResponse;
import dev.sandboxssh.envd.process.StartResponse;
import dev.sandboxssh.envd.process.UpdateRequest;
import dev.sandboxssh.envd.process.UpdateResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The agent's ProcessService, served by calling an envd: starts, attaches, input, resizes, signals
 * and listings become envd's {@code process.Process} calls. Where envd has no counterpart:
 *
 * <ul>
 *   <li>envd lets every process outlive its caller; one started without {@code background} or a PTY
 *       gets SIGHUP (then SIGKILL after {@link #HANGUP_GRACE}) when its caller goes away, as from
 *       the agent, sent with {@code kill} in the sandbox.
 *   <li>envd sends only TERM and KILL; other signals are sent with {@code kill -s NAME} in the
 *       sandbox.
 *   <li>Terminal modes, {@code unattended_timeout_ms} and {@code hand_off} have no equivalent and
 *       are ignored (a hand-off is declined, as by an agent on TCP).
 * </ul>
 */
final class EnvdProcessService extends ProcessServiceGrpc.ProcessServiceImplBase {
  /** Between a hung-up process's SIGHUP and its SIGKILL, as the agent waits. */
  static final Duration HANGUP_GRACE = Duration.ofSeconds(5);

  private final EnvdHttp http;
  private final EnvdShell shell;
  private final Executor pumps;
  private final ScheduledExecutorService timer;
  private final Duration callTimeout;

  /** Which processes have a PTY, learnt from their start: envd's listing does not say. */
  private final Map<Integer, Boolean> ptys = new ConcurrentHashMap<>();

  EnvdProcessService(
      EnvdHttp http,
      EnvdShell shell,
      Executor pumps,
      ScheduledExecutorService timer,
      Duration callTimeout) {
    this.http = http;
    this.shell = shell;
    this.pumps = pumps;
    this.timer = timer;
    this.callTimeout = callTimeout;
  }

  @Override
  public void start(StartRequest request, StreamObserver<ProcessEvent> observer) {
    ProcessConfig.Builder config = ProcessConfig.newBuilder();
    if (request.getArgvCount() > 0) {
      config
          .setCmd(request.getArgv(0))
          .addAllArgs(request.getArgvList().subList(1, request.getArgvCount()));
    } else if (!request.getCommand().isEmpty()) {
      config
          .setCmd(request.getShell().isEmpty() ? "/bin/bash" : request.getShell())
          .addArgs("-l")
          .addArgs("-c")
          .addArgs(request.getCommand());
    } else {
      observer.onError(
          Status.INVALID_ARGUMENT
              .withDescription("argv or command is required")
              .asRuntimeException());
      return;
    }
    config.putAllEnvs(request.getEnvMap());
    if (!request.getCwd().isEmpty()) {
      config.setCwd(request.getCwd());
    }
    dev.sandboxssh.envd.process.StartRequest.Builder start =
        dev.sandboxssh.envd.process.StartRequest.newBuilder().setStdin(true);
    boolean pty = request.hasPty();
    if (pty) {
      String term =
          request.getPty().getTerm().isEmpty() ? "xterm-256color" : request.getPty().getTerm();
      config.putEnvs("TERM", term);
      start.setPty(
          PTY.newBuilder()
              .setSize(
                  PTY.Size.newBuilder()
                      .setCols(request.getPty().getSize().getCols())
                      .setRows(request.getPty().getSize().getRows())));
    }
    if (!request.getTag().isEmpty()) {
      start.setTag(request.getTag());
    }
    start.setProcess(config);
    Relay<StartResponse> relay =
        new Relay<>(
            (ServerCallStreamObserver<ProcessEvent>) observer,
            () ->
                http.serverStream(
                    "process.Process/Start",
                    start.build(),
                    StartResponse.parser(),
                    request.getTimeoutMs()),
            StartResponse::getEvent,
            request.getBackground(),
            pty,
            request.getTag());
    pumps.execute(relay::run);
  }

  @Override
  public void connect(ConnectRequest request, StreamObserver<ProcessEvent> observer) {
    dev.sandboxssh.envd.process.ConnectRequest connect =
        dev.sandboxssh.envd.process.ConnectRequest.newBuilder()
            .setProcess(selector(request.hasTag() ? null : request.getPid(), request.getTag()))
            .build();
    Relay<ConnectResponse> relay =
        new Relay<>(
            (ServerCallStreamObserver<ProcessEvent>) observer,
            () ->
                http.serverStream("process.Process/Connect", connect, ConnectResponse.parser(), 0),
            ConnectResponse::getEvent,
            true,
            null,
            request.getTag());
    pumps.execute(relay::run);
  }

  /**
   * Copies one envd stream to one caller, a message at a time and only while the caller is ready,
   * so that a slow caller slows the stream instead of filling memory.
   */
  private final class Relay<R extends com.google.protobuf.Message> {
    private final ServerCallStreamObserver<ProcessEvent> call;
    private final Supplier<EnvdHttp.Stream<R>> open;
    private final Function<R, dev.sandboxssh.envd.process.ProcessEvent> event;
    private final boolean background;
    private final Boolean pty;
    private final String tag;
    private final ReadyGate gate;
    private volatile EnvdHttp.Stream<R> stream;
    private volatile boolean ended;
    private volatile int pid;

    Relay(
        ServerCallStreamObserver<ProcessEvent> call,
        Supplier<EnvdHttp.Stream<R>> open,
        Function<R, dev.sandboxssh.envd.process.ProcessEvent> event,
        boolean background,
        Boolean pty,
        String tag) {
      this.call = call;
      this.open = open;
      this.event = event;
      this.background = background;
      this.pty = pty;
      this.tag = tag;
      this.gate = new ReadyGate(call, this::cancelled);
    }

    private void cancelled() {
      EnvdHttp.Stream<R> s = stream;
      if (s != null) {
        s.close();
      }
      // As from the agent: a background or PTY process outlives its caller, any other is hung up.
      if (!background && !Boolean.TRUE.equals(pty) && !ended && pid > 0) {
        hangUp(pid);
      }
    }

    void run() {
      try (EnvdHttp.Stream<R> s = open.get()) {
        stream = s;
        if (gate.cancelled()) {
          return;
        }
        for (R message; (message = s.next()) != null; ) {
          ProcessEvent translated = translate(event.apply(message));
          if (translated == null) {
            continue;
          }
          if (translated.hasEnd()) {
            ended = true;
            ptys.remove(pid);
          }
          if (!gate.awaitReady()) {
            return;
          }
          call.onNext(translated);
          if (translated.hasEnd()) {
            call.onCompleted();
            return;
          }
        }
        call.onError(
            Status.UNAVAILABLE
                .withDescription("envd ended the stream without an end event")
                .asRuntimeException());
      } catch (StatusRuntimeException e) {
        if (!gate.cancelled()) {
          call.onError(e);
        }
      } catch (RuntimeException e) {
        if (!gate.cancelled()) {
          call.onError(
              Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException());
        }
      }
    }

    private ProcessEvent translate(dev.sandboxssh.envd.process.ProcessEvent e) {
      switch (e.getEventCase()) {
        case START:
          pid = e.getStart().getPid();
          if (pty != null) {
            ptys.put(pid, pty);
          }
          return ProcessEvent.newBuilder()
              .setStarted(Started.newBuilder().setPid(pid).setTag(tag))
              .build();
        case DATA:
          switch (e.getData().getOutputCase()) {
            case STDOUT:
              return ProcessEvent.newBuilder().setStdout(e.getData().getStdout()).build();
            case STDERR:
              return ProcessEvent.newBuilder().setStderr(e.getData().getStderr()).build();
            case PTY:
              return ProcessEvent.newBuilder().setPty(e.getData().getPty()).build();
            default:
              return null;
          }
        case END:
          return ProcessEvent.newBuilder().setEnd(end(e.getEnd())).build();
        case KEEPALIVE:
          return ProcessEvent.newBuilder().setKeepalive(Keepalive.getDefaultInstance()).build();
        default:
          return null;
      }
    }
  }

  /** Go's names of signals (os.ProcessState's "signal: killed"), back to POSIX names. */
  private static final Map<String, String> GO_SIGNALS =
      Map.ofEntries(
          Map.entry("hangup", "HUP"),
          Map.entry("interrupt", "INT"),
          Map.entry("quit", "QUIT"),
          Map.entry("illegal instruction", "ILL"),
          Map.entry("trace/breakpoint trap", "TRAP"),
          Map.entry("aborted", "ABRT"),
          Map.entry("bus error", "BUS"),
          Map.entry("floating point exception", "FPE"),
          Map.entry("killed", "KILL"),
          Map.entry("user defined signal 1", "USR1"),
          Map.entry("segmentation fault", "SEGV"),
          Map.entry("user defined signal 2", "USR2"),
          Map.entry("broken pipe", "PIPE"),
          Map.entry("alarm clock", "ALRM"),
          Map.entry("terminated", "TERM"));

  /** envd's end (Go's os.ProcessState: "exit status 3", "signal: killed") as the agent's. */
  static End end(dev.sandboxssh.envd.process.ProcessEvent.EndEvent end) {
    End.Builder out = End.newBuilder();
    String status = end.getStatus();
    if (end.getExited()) {
      out.setExitCode(end.getExitCode());
    } else {
      String description = status.startsWith("signal: ") ? status.substring(8) : status;
      boolean core = description.endsWith(" (core dumped)");
      if (core) {
        description = description.substring(0, description.length() - " (core dumped)".length());
      }
      out.setCoreDumped(core);
      // A signal Go names in a way not listed still ended the process: KILL is the honest guess.
      out.setSignal(GO_SIGNALS.getOrDefault(description, "KILL"));
    }
    // envd repeats the status as the error; only a different text is a reason of its own.
    if (end.hasError() && !end.getError().equals(status) && !end.getError().isEmpty()) {
      String error = end.getError();
      out.setError(
          error.startsWith(status + " (")
              ? error.substring(status.length() + 2, error.length() - 1)
              : error);
    }
    return out.build();
  }

  /** SIGHUP to the process group (or the process, when it leads none), then SIGKILL. */
  private void hangUp(int pid) {
    pumps.execute(
        () -> {
          try {
            signalWithKill(pid, "HUP", true);
          } catch (RuntimeException e) {
            // Gone already, or envd unreachable: nothing is left to hang up.
            return;
          }
          timer.schedule(
              () -> pumps.execute(() -> killIfRunning(pid)),
              HANGUP_GRACE.toMillis(),
              TimeUnit.MILLISECONDS);
        });
  }

  private void killIfRunning(int pid) {
    try {
      ListResponse running = list();
      if (running.getProcessesList().stream().anyMatch(p -> p.getPid() == pid)) {
        envdSignal(pid, dev.sandboxssh.envd.process.Signal.SIGNAL_SIGKILL);
      }
    } catch (RuntimeException e) {
      // It ended on its own meanwhile, or envd is gone with it.
    }
  }

  private void signalWithKill(int pid, String name, boolean group) {
    String script =
        group
            ? "kill -s \"$1\" -- \"-$2\" 2>/dev/null || kill -s \"$1\" \"$2\""
            : "kill -s \"$1\" \"$2\"";
    shell.check(Integer.toString(pid), script, List.of(name, Integer.toString(pid)));
  }

  private void envdSignal(int pid, dev.sandboxssh.envd.process.Signal signal) {
    http.unary(
        "process.Process/SendSignal",
        SendSignalRequest.newBuilder()
            .setProcess(ProcessSelector.newBuilder().setPid(pid))
            .setSignal(signal)
            .build(),
        SendSignalResponse.parser(),
        callTimeout);
  }

  @Override
  public StreamObserver<InputRequest> streamInput(StreamObserver<InputReply> observer) {
    return new StreamObserver<>() {
      private ProcessSelector target;
      private boolean failed;

      @Override
      public void onNext(InputRequest message) {
        if (failed) {
          return;
        }
        try {
          if (target == null) {
            target = selector(message.hasTag() ? null : message.getPid(), message.getTag());
          }
          input(target, message.getData(), message.getEof());
        } catch (StatusRuntimeException e) {
          failed = true;
          observer.onError(e);
        }
      }

      @Override
      public void onError(Throwable t) {
        // The caller went away; what it sent was delivered.
      }

      @Override
      public void onCompleted() {
        if (!failed) {
          observer.onNext(InputReply.getDefaultInstance());
          observer.onCompleted();
        }
      }
    };
  }

  @Override
  public void sendInput(InputRequest request, StreamObserver<InputReply> observer) {
    try {
      input(
          selector(request.hasTag() ? null : request.getPid(), request.getTag()),
          request.getData(),
          request.getEof());
      observer.onNext(InputReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  /** Input for a PTY goes as {@code pty}, other input as {@code stdin}; eof as envd's for each. */
  private void input(ProcessSelector target, ByteString data, boolean eof) {
    boolean pty = isPty(target);
    if (!data.isEmpty()) {
      ProcessInput.Builder input = ProcessInput.newBuilder();
      http.sendInput(
          target, (pty ? input.setPty(data) : input.setStdin(data)).build(), callTimeout);
    }
    if (eof) {
      if (pty) {
        // envd's own advice: a terminal's end of input is its EOF character, ^D.
        http.sendInput(
            target,
            ProcessInput.newBuilder().setPty(ByteString.copyFrom(new byte[] {4})).build(),
            callTimeout);
      } else {
        http.closeStdin(target, callTimeout);
      }
    }
  }

  private boolean isPty(ProcessSelector target) {
    if (target.hasPid()) {
      return ptys.getOrDefault(target.getPid(), false);
    }
    ListResponse running = list();
    for (dev.sandboxssh.envd.process.ProcessInfo p : running.getProcessesList()) {
      if (p.hasTag() && p.getTag().equals(target.getTag())) {
        return ptys.getOrDefault(p.getPid(), false);
      }
    }
    return false;
  }

  @Override
  public void resize(ResizeRequest request, StreamObserver<ResizeReply> observer) {
    try {
      http.unary(
          "process.Process/Update",
          UpdateRequest.newBuilder()
              .setProcess(ProcessSelector.newBuilder().setPid(request.getPid()))
              .setPty(
                  PTY.newBuilder()
                      .setSize(
                          PTY.Size.newBuilder()
                              .setCols(request.getSize().getCols())
                              .setRows(request.getSize().getRows())))
              .build(),
          UpdateResponse.parser(),
          callTimeout);
      observer.onNext(ResizeReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  @Override
  public void sendSignal(SignalRequest request, StreamObserver<SignalReply> observer) {
    String name = request.getSignal();
    try {
      if (!name.matches("[A-Z0-9]{1,10}")) {
        throw Status.INVALID_ARGUMENT
            .withDescription("unknown signal " + name)
            .asRuntimeException();
      }
      if (name.equals("KILL") || name.equals("TERM")) {
        envdSignal(
            request.getPid(),
            name.equals("KILL")
                ? dev.sandboxssh.envd.process.Signal.SIGNAL_SIGKILL
                : dev.sandboxssh.envd.process.Signal.SIGNAL_SIGTERM);
      } else {
        // On the caller's thread, so that it stays in order with the input sent before it.
        signalWithKill(request.getPid(), name, request.getProcessGroup());
      }
      observer.onNext(SignalReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  @Override
  public void list(ListRequest request, StreamObserver<ListReply> observer) {
    try {
      ListReply.Builder out = ListReply.newBuilder();
      for (dev.sandboxssh.envd.process.ProcessInfo p : list().getProcessesList()) {
        ProcessInfo.Builder info =
            ProcessInfo.newBuilder()
                .setPid(p.getPid())
                .setTag(p.hasTag() ? p.getTag() : "")
                .setCmd(p.getConfig().getCmd())
                .addAllArgs(p.getConfig().getArgsList())
                .putAllEnvs(p.getConfig().getEnvsMap())
                .setCwd(p.getConfig().getCwd())
                .setPty(ptys.getOrDefault(p.getPid(), false));
        out.addProcesses(info);
      }
      observer.onNext(out.build());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  private ListResponse list() {
    return http.list(callTimeout);
  }

  @Override
  public void kill(KillRequest request, StreamObserver<KillReply> observer) {
    try {
      envdSignal(request.getPid(), dev.sandboxssh.envd.process.Signal.SIGNAL_SIGKILL);
      observer.onNext(KillReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  private static ProcessSelector selector(Integer pid, String tag) {
    return pid != null
        ? ProcessSelector.newBuilder().setPid(pid).build()
        : ProcessSelector.newBuilder().setTag(tag).build();
  }
}
