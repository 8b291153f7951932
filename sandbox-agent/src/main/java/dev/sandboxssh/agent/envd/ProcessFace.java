package dev.sandboxssh.agent.envd;

import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpExchange;
import dev.sandboxssh.api.v1.End;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.ListRequest;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import dev.sandboxssh.api.v1.PtyConfig;
import dev.sandboxssh.api.v1.PtySize;
import dev.sandboxssh.api.v1.ResizeRequest;
import dev.sandboxssh.api.v1.SignalRequest;
import dev.sandboxssh.envd.process.ConnectRequest;
import dev.sandboxssh.envd.process.ConnectResponse;
import dev.sandboxssh.envd.process.ListResponse;
import dev.sandboxssh.envd.process.ProcessConfig;
import dev.sandboxssh.envd.process.ProcessEvent;
import dev.sandboxssh.envd.process.ProcessInfo;
import dev.sandboxssh.envd.process.ProcessSelector;
import dev.sandboxssh.envd.process.SendInputRequest;
import dev.sandboxssh.envd.process.SendSignalRequest;
import dev.sandboxssh.envd.process.StartRequest;
import dev.sandboxssh.envd.process.StartResponse;
import dev.sandboxssh.envd.process.UpdateRequest;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * envd's {@code process.Process} service, translated onto the agent's own process service: the
 * processes the E2B SDK starts are those of the agent's process table, seen and driven the same way
 * from the gRPC face.
 */
final class ProcessFace {
  private final ProcessServiceGrpc.ProcessServiceBlockingStub processes;

  ProcessFace(Channel channel) {
    this.processes = ProcessServiceGrpc.newBlockingStub(channel);
  }

  /** Answers one call to {@code process.Process/METHOD}. */
  void handle(String method, HttpExchange exchange) throws IOException {
    boolean streaming = method.equals("Start") || method.equals("Connect");
    Connect call = Connect.of(exchange, streaming);
    if (call == null) {
      return;
    }
    try {
      switch (method) {
        case "Start":
          start(call, call.read(StartRequest.newBuilder()).build(), Connect.timeoutMs(exchange));
          return;
        case "Connect":
          connect(
              call, call.read(ConnectRequest.newBuilder()).build(), Connect.timeoutMs(exchange));
          return;
        case "List":
          call.read(dev.sandboxssh.envd.process.ListRequest.newBuilder());
          call.reply(list());
          return;
        case "SendInput":
          sendInput(call.read(SendInputRequest.newBuilder()).build());
          call.reply(dev.sandboxssh.envd.process.SendInputResponse.getDefaultInstance());
          return;
        case "CloseStdin":
          closeStdin(
              call.read(dev.sandboxssh.envd.process.CloseStdinRequest.newBuilder()).getProcess());
          call.reply(dev.sandboxssh.envd.process.CloseStdinResponse.getDefaultInstance());
          return;
        case "Update":
          update(call.read(UpdateRequest.newBuilder()).build());
          call.reply(dev.sandboxssh.envd.process.UpdateResponse.getDefaultInstance());
          return;
        case "SendSignal":
          sendSignal(call.read(SendSignalRequest.newBuilder()).build());
          call.reply(dev.sandboxssh.envd.process.SendSignalResponse.getDefaultInstance());
          return;
        default:
          // StreamInput is client streaming, which Connect over HTTP/1.1 cannot carry.
          call.fail(
              Status.UNIMPLEMENTED.withDescription("process.Process/" + method + " is not served"));
      }
    } catch (StatusRuntimeException e) {
      call.fail(e.getStatus());
    }
  }

  private void start(Connect call, StartRequest request, long timeoutMs) throws IOException {
    ProcessConfig config = request.getProcess();
    if (config.getCmd().isEmpty()) {
      throw Connect.invalid("process.cmd is required");
    }
    dev.sandboxssh.api.v1.StartRequest.Builder start =
        dev.sandboxssh.api.v1.StartRequest.newBuilder()
            .addArgv(config.getCmd())
            .addAllArgv(config.getArgsList())
            .putAllEnv(config.getEnvsMap())
            .setCwd(config.getCwd())
            // envd never ends a process because its caller went away (disconnect() leaves it
            // running, connect() finds it again); only the call's timeout ends it, as here.
            .setBackground(true)
            .setTimeoutMs(timeoutMs);
    if (request.hasTag()) {
      start.setTag(request.getTag());
    }
    if (request.hasPty()) {
      start.setPty(
          PtyConfig.newBuilder()
              .setSize(
                  PtySize.newBuilder()
                      .setCols(request.getPty().getSize().getCols())
                      .setRows(request.getPty().getSize().getRows()))
              .setTerm(config.getEnvsOrDefault("TERM", "")));
    }
    // envd gives a process started with stdin: false (the SDK's default) no stdin at all; here
    // its stdin is closed at once, so that a command that reads it sees end of file, not a hang.
    boolean closeStdin = !request.hasPty() && request.hasStdin() && !request.getStdin();
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      Iterator<dev.sandboxssh.api.v1.ProcessEvent> events =
          context.call(() -> processes.start(start.build()));
      relay(
          call,
          events,
          context,
          event -> StartResponse.newBuilder().setEvent(event).build(),
          pid -> {
            if (closeStdin) {
              try {
                processes.sendInput(InputRequest.newBuilder().setPid(pid).setEof(true).build());
              } catch (StatusRuntimeException e) {
                // A command that exits at once may be gone already; its stdin went with it.
                if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                  throw e;
                }
              }
            }
          });
    } catch (StatusRuntimeException e) {
      throw e;
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw Status.INTERNAL.withDescription(e.toString()).asRuntimeException();
    } finally {
      context.cancel(null);
    }
  }

  private void connect(Connect call, ConnectRequest request, long timeoutMs) throws IOException {
    dev.sandboxssh.api.v1.ConnectRequest.Builder connect =
        dev.sandboxssh.api.v1.ConnectRequest.newBuilder();
    ProcessSelector selector = request.getProcess();
    if (selector.hasTag()) {
      connect.setTag(selector.getTag());
    } else {
      connect.setPid(selector.getPid());
    }
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      // The timeout bounds this stream only (the SDK's default is 60 s); the process runs on.
      ProcessServiceGrpc.ProcessServiceBlockingStub stub =
          timeoutMs > 0 ? processes.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS) : processes;
      Iterator<dev.sandboxssh.api.v1.ProcessEvent> events =
          context.call(() -> stub.connect(connect.build()));
      relay(
          call,
          events,
          context,
          event -> ConnectResponse.newBuilder().setEvent(event).build(),
          pid -> {});
    } catch (StatusRuntimeException | IOException e) {
      throw e;
    } catch (Exception e) {
      throw Status.INTERNAL.withDescription(e.toString()).asRuntimeException();
    } finally {
      context.cancel(null);
    }
  }

  private interface PidAction {
    void started(int pid);
  }

  /**
   * Copies the agent's events to the caller, one at a time: the next is asked of the agent only
   * once this one is written, so a slow reader slows the process rather than filling memory. A
   * caller that went away (the SDK's disconnect()) shows as a failed write, which detaches.
   */
  private static void relay(
      Connect call,
      Iterator<dev.sandboxssh.api.v1.ProcessEvent> events,
      Context.CancellableContext context,
      Function<ProcessEvent, com.google.protobuf.Message> wrap,
      PidAction onStart)
      throws IOException {
    try {
      while (events.hasNext()) {
        dev.sandboxssh.api.v1.ProcessEvent event = events.next();
        ProcessEvent translated = translate(event);
        if (translated == null) {
          continue;
        }
        call.send(wrap.apply(translated));
        if (event.hasStarted()) {
          onStart.started(event.getStarted().getPid());
        }
      }
      call.end();
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.CANCELLED && context.isCancelled()) {
        return;
      }
      call.fail(e.getStatus());
    } catch (IOException e) {
      context.cancel(e);
    }
  }

  /** One agent event as envd's; null for what envd has no event for. */
  static ProcessEvent translate(dev.sandboxssh.api.v1.ProcessEvent event) {
    ProcessEvent.Builder out = ProcessEvent.newBuilder();
    switch (event.getEventCase()) {
      case STARTED:
        out.setStart(ProcessEvent.StartEvent.newBuilder().setPid(event.getStarted().getPid()));
        break;
      case STDOUT:
        out.setData(ProcessEvent.DataEvent.newBuilder().setStdout(event.getStdout()));
        break;
      case STDERR:
        out.setData(ProcessEvent.DataEvent.newBuilder().setStderr(event.getStderr()));
        break;
      case PTY:
        out.setData(ProcessEvent.DataEvent.newBuilder().setPty(event.getPty()));
        break;
      case END:
        out.setEnd(end(event.getEnd()));
        break;
      case KEEPALIVE:
        out.setKeepalive(ProcessEvent.KeepAlive.getDefaultInstance());
        break;
      default:
        return null;
    }
    return out.build();
  }

  /**
   * envd reports an end as Go's os.ProcessState does: exit code (-1 after a signal), whether it
   * exited, "exit status N" or "signal: killed", and the same text as the error when not 0.
   */
  static ProcessEvent.EndEvent end(End end) {
    ProcessEvent.EndEvent.Builder out = ProcessEvent.EndEvent.newBuilder();
    if (end.hasExitCode()) {
      out.setExitCode(end.getExitCode())
          .setExited(true)
          .setStatus("exit status " + end.getExitCode());
      if (end.getExitCode() != 0) {
        out.setError("exit status " + end.getExitCode());
      }
    } else {
      String status = "signal: " + goSignalName(end.getSignal());
      out.setExitCode(-1).setExited(false).setStatus(status).setError(status);
    }
    if (!end.getError().isEmpty() && !end.hasExitCode()) {
      // The agent's own reason (a timeout) says more than the signal.
      out.setError(out.getStatus() + " (" + end.getError() + ")");
    }
    return out.build();
  }

  private static final Map<String, String> GO_SIGNALS =
      Map.of(
          "KILL", "killed",
          "TERM", "terminated",
          "HUP", "hangup",
          "INT", "interrupt",
          "QUIT", "quit",
          "PIPE", "broken pipe",
          "SEGV", "segmentation fault",
          "ABRT", "aborted");

  private static String goSignalName(String name) {
    return GO_SIGNALS.getOrDefault(name, name.toLowerCase(Locale.ROOT));
  }

  private ListResponse list() {
    ListResponse.Builder out = ListResponse.newBuilder();
    for (dev.sandboxssh.api.v1.ProcessInfo p :
        processes.list(ListRequest.getDefaultInstance()).getProcessesList()) {
      ProcessInfo.Builder info =
          ProcessInfo.newBuilder()
              .setPid(p.getPid())
              .setConfig(
                  ProcessConfig.newBuilder()
                      .setCmd(p.getCmd())
                      .addAllArgs(p.getArgsList())
                      .putAllEnvs(p.getEnvsMap())
                      .setCwd(p.getCwd()));
      if (!p.getTag().isEmpty()) {
        info.setTag(p.getTag());
      }
      out.addProcesses(info);
    }
    return out.build();
  }

  private void sendInput(SendInputRequest request) {
    InputRequest.Builder input = selector(request.getProcess());
    switch (request.getInput().getInputCase()) {
      case STDIN:
        input.setData(request.getInput().getStdin());
        break;
      case PTY:
        input.setData(request.getInput().getPty());
        break;
      default:
        input.setData(ByteString.EMPTY);
    }
    processes.sendInput(input.build());
  }

  private void closeStdin(ProcessSelector process) {
    processes.sendInput(selector(process).setEof(true).build());
  }

  private static InputRequest.Builder selector(ProcessSelector process) {
    InputRequest.Builder input = InputRequest.newBuilder();
    if (process.hasTag()) {
      input.setTag(process.getTag());
    } else {
      input.setPid(process.getPid());
    }
    return input;
  }

  private int pid(ProcessSelector process) {
    if (!process.hasTag()) {
      return process.getPid();
    }
    for (dev.sandboxssh.api.v1.ProcessInfo p :
        processes.list(ListRequest.getDefaultInstance()).getProcessesList()) {
      if (p.getTag().equals(process.getTag())) {
        return p.getPid();
      }
    }
    throw Status.NOT_FOUND
        .withDescription("no process tagged " + process.getTag())
        .asRuntimeException();
  }

  private void update(UpdateRequest request) {
    if (!request.hasPty()) {
      return;
    }
    processes.resize(
        ResizeRequest.newBuilder()
            .setPid(pid(request.getProcess()))
            .setSize(
                PtySize.newBuilder()
                    .setCols(request.getPty().getSize().getCols())
                    .setRows(request.getPty().getSize().getRows()))
            .build());
  }

  private void sendSignal(SendSignalRequest request) {
    String signal;
    switch (request.getSignal()) {
      case SIGNAL_SIGKILL:
        signal = "KILL";
        break;
      case SIGNAL_SIGTERM:
        signal = "TERM";
        break;
      default:
        throw Connect.invalid("unsupported signal " + request.getSignalValue());
    }
    // To the whole process group, as the agent's own kill: a shell's children (the `sleep` of
    // `echo hello; sleep 10`) go with it rather than linger unlisted.
    processes.sendSignal(
        SignalRequest.newBuilder()
            .setPid(pid(request.getProcess()))
            .setSignal(signal)
            .setProcessGroup(true)
            .build());
  }
}
