package dev.sandboxssh.sdk;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.ConnectRequest;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.KillRequest;
import dev.sandboxssh.api.v1.ListRequest;
import dev.sandboxssh.api.v1.PtyConfig;
import dev.sandboxssh.api.v1.PtySize;
import dev.sandboxssh.api.v1.ResizeRequest;
import dev.sandboxssh.api.v1.SignalRequest;
import dev.sandboxssh.api.v1.StartRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Runs, lists and kills commands in one sandbox (E2B: {@code sandbox.commands}). */
public final class Commands {
  /** How long starting a process may take before the agent counts as unresponsive. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final AgentStubs stubs;

  Commands(AgentStubs stubs) {
    this.stubs = stubs;
  }

  /** Runs a command line in the foreground and returns its exit code, stdout and stderr. */
  public CommandResult run(String cmd) {
    return run(cmd, CommandOptions.create()).waitFor();
  }

  /**
   * Starts a command line ({@code SHELL -l -c cmd}) and returns as soon as it runs; with {@code
   * background(true)} it outlives this handle.
   */
  public CommandHandle run(String cmd, CommandOptions options) {
    return start(request(options).setCommand(cmd), options);
  }

  /** Starts {@code argv} directly ({@code argv[0]} looked up on PATH). */
  public CommandHandle start(List<String> argv, CommandOptions options) {
    return start(request(options).addAllArgv(argv), options);
  }

  CommandHandle start(StartRequest.Builder request, CommandOptions options) {
    CommandHandle handle = new CommandHandle(stubs, options.stdout, options.stderr);
    stubs.start(request.build(), handle.observer());
    return handle.awaitStarted(START_TIMEOUT);
  }

  private static StartRequest.Builder request(CommandOptions options) {
    StartRequest.Builder request =
        StartRequest.newBuilder()
            .putAllEnv(options.envs)
            .setCwd(options.cwd)
            .setTag(options.tag)
            .setBackground(options.background)
            .setHandOff(options.handOff)
            .setShell(options.shell)
            .setTimeoutMs(options.timeout.toMillis())
            .setUnattendedTimeoutMs(options.unattendedTimeout.toMillis());
    if (options.pty) {
      request.setPty(
          PtyConfig.newBuilder()
              .setSize(PtySize.newBuilder().setCols(options.cols).setRows(options.rows))
              .setTerm(options.term)
              .putAllModes(options.modes)
              .setPathEnv(options.ptyPathEnv));
    }
    return request;
  }

  /** Running processes only: background and foreground commands and terminals. */
  public List<ProcessInfo> list() {
    try {
      return stubs
          .processBlocking()
          .list(ListRequest.getDefaultInstance())
          .getProcessesList()
          .stream()
          .map(
              p ->
                  new ProcessInfo(
                      p.getPid(),
                      p.getTag(),
                      p.getCmd(),
                      List.copyOf(p.getArgsList()),
                      p.getEnvsMap(),
                      p.getCwd(),
                      p.getPty(),
                      p.getBackground(),
                      Instant.ofEpochMilli(p.getStartedAtMs()),
                      p.getAttached(),
                      p.getHandedOff()))
          .toList();
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }

  /** Kills a process (SIGKILL to its group); false when no such process runs. */
  public boolean kill(int pid) {
    try {
      stubs.processBlocking().kill(KillRequest.newBuilder().setPid(pid).build());
      return true;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return false;
      }
      throw SandboxException.from(e);
    }
  }

  /**
   * Attaches to a running process with a new handle; a terminal first replays its recent output.
   */
  public CommandHandle connect(int pid, CommandOptions options) {
    CommandHandle handle = new CommandHandle(stubs, options.stdout, options.stderr);
    stubs.connect(ConnectRequest.newBuilder().setPid(pid).build(), handle.observer());
    return handle.awaitStarted(START_TIMEOUT);
  }

  /**
   * Attaches to the running process tagged {@code tag}, or collects the output and status of one
   * that exited while nobody was attached; it first replays its recent output.
   */
  public CommandHandle connect(String tag, CommandOptions options) {
    CommandHandle handle = new CommandHandle(stubs, options.stdout, options.stderr);
    stubs.connect(ConnectRequest.newBuilder().setTag(tag).build(), handle.observer());
    return handle.awaitStarted(START_TIMEOUT);
  }

  /** Writes to a process's stdin. */
  public void sendStdin(int pid, byte[] data) {
    input(InputRequest.newBuilder().setPid(pid).setData(ByteString.copyFrom(data)).build());
  }

  /** Closes a process's stdin. */
  public void closeStdin(int pid) {
    input(InputRequest.newBuilder().setPid(pid).setEof(true).build());
  }

  /** Sends a signal by name to a process, or with {@code processGroup} to its whole group. */
  public void signal(int pid, String name, boolean processGroup) {
    try {
      stubs
          .processBlocking()
          .sendSignal(
              SignalRequest.newBuilder()
                  .setPid(pid)
                  .setSignal(name)
                  .setProcessGroup(processGroup)
                  .build());
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }

  /** Resizes a process's terminal. */
  public void resize(int pid, int cols, int rows) {
    try {
      stubs
          .processBlocking()
          .resize(
              ResizeRequest.newBuilder()
                  .setPid(pid)
                  .setSize(PtySize.newBuilder().setCols(cols).setRows(rows))
                  .build());
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }

  private void input(InputRequest request) {
    try {
      stubs.processBlocking().sendInput(request);
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }
}
