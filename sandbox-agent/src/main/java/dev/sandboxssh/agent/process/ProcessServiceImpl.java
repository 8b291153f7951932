package dev.sandboxssh.agent.process;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.api.v1.ConnectRequest;
import dev.sandboxssh.api.v1.InputReply;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.KillReply;
import dev.sandboxssh.api.v1.KillRequest;
import dev.sandboxssh.api.v1.ListReply;
import dev.sandboxssh.api.v1.ListRequest;
import dev.sandboxssh.api.v1.ProcessEvent;
import dev.sandboxssh.api.v1.ProcessInfo;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import dev.sandboxssh.api.v1.PtyConfig;
import dev.sandboxssh.api.v1.ResizeReply;
import dev.sandboxssh.api.v1.ResizeRequest;
import dev.sandboxssh.api.v1.SignalReply;
import dev.sandboxssh.api.v1.SignalRequest;
import dev.sandboxssh.api.v1.StartRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Serves the process rpcs of one sandbox: the E2B command model. */
public final class ProcessServiceImpl extends ProcessServiceGrpc.ProcessServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(ProcessServiceImpl.class);

  /** A foreground process whose caller left gets SIGHUP, then SIGKILL after this long. */
  static final Duration HANGUP_GRACE = Duration.ofSeconds(5);

  /** How long an exited process's end stays readable by a late Connect. */
  static final Duration EXITED_RETENTION = Duration.ofSeconds(60);

  private static final int MAX_EXITED_KEPT = 256;
  private static final int MAX_PTY_SIDE = 10_000;
  // Linux refuses a single argument or environment string over 128 KiB (MAX_ARG_STRLEN); a
  // request beyond these could only fail later, after the agent buffered it.
  private static final int MAX_ENV_VALUE_BYTES = 128 * 1024;
  private static final int MAX_ENV_TOTAL_BYTES = 1024 * 1024;
  private static final int MAX_ENV_VARS = 1024;
  private static final int MAX_COMMAND_BYTES = 128 * 1024;
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final String DEFAULT_SHELL = "/bin/bash";
  private static final String DEFAULT_TERM = "xterm-256color";
  private static final String DEFAULT_PATH =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  private final AgentConfig config;
  private final Map<Integer, ManagedProcess> running = new ConcurrentHashMap<>();
  // Tag to pid of the running process that holds it (0 while it starts): two Starts racing for
  // one tag must not both win.
  private final Map<String, Integer> tags = new ConcurrentHashMap<>();
  private final Map<Integer, ExitedProcess> exited = new LinkedHashMap<>(); // guarded by itself
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "process-timers");
            t.setDaemon(true);
            return t;
          });

  private final HandOffs handOffs = new HandOffs(scheduler);
  private volatile boolean handOffServed;

  private record ExitedProcess(ManagedProcess process, long expiresAtNanos) {}

  /** Serves the sandbox that {@code config} describes. */
  public ProcessServiceImpl(AgentConfig config) {
    this.config = config;
  }

  /**
   * Lets callers start processes with {@code hand_off}; the caller of this method serves the
   * returned descriptors on the descriptor socket.
   */
  public HandOffs serveHandOffs() {
    handOffServed = true;
    return handOffs;
  }

  @Override
  public void start(StartRequest request, StreamObserver<ProcessEvent> observer) {
    ServerCallStreamObserver<ProcessEvent> call = (ServerCallStreamObserver<ProcessEvent>) observer;
    ManagedProcess managed;
    try {
      managed = spawn(request);
    } catch (StatusRuntimeException e) {
      observer.onError(e);
      return;
    }
    // A hand-off is a request: declined (an empty name), the output flows through the agent.
    String handOff = "";
    if (request.getHandOff() && handOffServed) {
      try {
        handOff = handOffs.offer(managed.handOff());
      } catch (IOException e) {
        log.warn("pid {}: stdio stays with the agent: {}", managed.pid(), e.getMessage());
      }
    }
    EventSink[] sink = new EventSink[1];
    sink[0] =
        new EventSink(
            call,
            () -> {
              managed.detach(sink[0]);
              callerLeft(managed);
            });
    managed.attach(sink[0], false, handOff);
    managed.startReading(scheduler, this::onEnded);
    if (request.getTimeoutMs() > 0) {
      scheduler.schedule(
          () -> {
            if (running.containsKey(managed.pid())) {
              managed.kill("timeout after " + request.getTimeoutMs() + " ms");
            }
          },
          request.getTimeoutMs(),
          TimeUnit.MILLISECONDS);
    }
  }

  private ManagedProcess spawn(StartRequest request) {
    List<String> argv = new ArrayList<>();
    if (!request.getArgvList().isEmpty()) {
      argv.addAll(request.getArgvList());
    } else if (!request.getCommand().isEmpty()) {
      if (request.getCommand().getBytes(StandardCharsets.UTF_8).length > MAX_COMMAND_BYTES) {
        throw invalid("command longer than " + MAX_COMMAND_BYTES + " bytes");
      }
      String shell = request.getShell().isEmpty() ? DEFAULT_SHELL : request.getShell();
      argv.addAll(List.of(shell, "-l", "-c", request.getCommand()));
    } else {
      throw invalid("either argv or command is required");
    }
    Map<String, String> env = environment(request);
    Path cwd = workingDirectory(request.getCwd());
    String tag = request.getTag();
    if (!tag.isEmpty()) {
      Integer holder = tags.putIfAbsent(tag, 0);
      if (holder != null) {
        throw Status.ALREADY_EXISTS
            .withDescription("tag " + tag + " is in use" + (holder == 0 ? "" : " by pid " + holder))
            .asRuntimeException();
      }
      // An uncollected end of an earlier process with this tag is superseded.
      synchronized (exited) {
        exited.values().removeIf(e -> e.process().tag().equals(tag));
      }
    }
    try {
      return spawn(request, argv, env, cwd);
    } catch (RuntimeException e) {
      if (!tag.isEmpty()) {
        tags.remove(tag, 0);
      }
      throw e;
    }
  }

  private ManagedProcess spawn(
      StartRequest request, List<String> argv, Map<String, String> env, Path cwd) {
    NativeProcess process;
    try {
      if (request.hasPty()) {
        PtyConfig pty = request.getPty();
        int cols = checkSide("cols", pty.getSize().getCols());
        int rows = checkSide("rows", pty.getSize().getRows());
        env.putIfAbsent("TERM", pty.getTerm().isEmpty() ? DEFAULT_TERM : pty.getTerm());
        String pathEnv = pty.getPathEnv();
        if (!pathEnv.isEmpty() && !ENV_NAME.matcher(pathEnv).matches()) {
          throw invalid("bad pty path_env name: " + abbreviate(pathEnv));
        }
        process = NativeProcess.spawnPty(argv, env, cwd, cols, rows, pty.getModesMap(), pathEnv);
      } else {
        process = NativeProcess.spawnPipes(argv, env, cwd);
      }
    } catch (IOException e) {
      throw (e.getMessage() != null && e.getMessage().endsWith("not found")
              ? Status.NOT_FOUND
              : Status.FAILED_PRECONDITION)
          .withDescription(e.getMessage())
          .asRuntimeException();
    }
    ProcessInfo info =
        ProcessInfo.newBuilder()
            .setPid(process.pid())
            .setTag(request.getTag())
            .setCmd(argv.get(0))
            .addAllArgs(argv.subList(1, argv.size()))
            .putAllEnvs(request.getEnvMap())
            .setCwd(cwd.toString())
            .setPty(request.hasPty())
            .setBackground(request.getBackground())
            .setStartedAtMs(System.currentTimeMillis())
            .build();
    if (!request.getTag().isEmpty()) {
      tags.put(request.getTag(), process.pid());
    }
    ManagedProcess managed =
        new ManagedProcess(
            process,
            info,
            Duration.ofMillis(request.getUnattendedTimeoutMs()),
            scheduler,
            this::unattended);
    running.put(process.pid(), managed);
    log.debug("started pid={} cmd={} pty={}", process.pid(), argv.get(0), request.hasPty());
    return managed;
  }

  private Map<String, String> environment(StartRequest request) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOME", config.home().toString());
    String user = System.getProperty("user.name", "user");
    env.put("USER", user);
    env.put("LOGNAME", user);
    env.put("SHELL", DEFAULT_SHELL);
    env.put("PATH", DEFAULT_PATH);
    env.put("LANG", "C.UTF-8");
    if (request.getEnvCount() > MAX_ENV_VARS) {
      throw invalid("more than " + MAX_ENV_VARS + " environment variables");
    }
    long total = 0;
    for (Map.Entry<String, String> e : request.getEnvMap().entrySet()) {
      if (!ENV_NAME.matcher(e.getKey()).matches()) {
        throw invalid("bad environment variable name: " + abbreviate(e.getKey()));
      }
      int size = e.getValue().getBytes(StandardCharsets.UTF_8).length;
      if (size > MAX_ENV_VALUE_BYTES || e.getValue().indexOf('\0') >= 0) {
        throw invalid("environment variable " + e.getKey() + " is too long or holds NUL");
      }
      total += size + e.getKey().length();
      env.put(e.getKey(), e.getValue());
    }
    if (total > MAX_ENV_TOTAL_BYTES) {
      throw invalid("environment larger than " + MAX_ENV_TOTAL_BYTES + " bytes");
    }
    return env;
  }

  private Path workingDirectory(String requested) {
    Path cwd = requested.isEmpty() ? config.home() : config.home().resolve(requested).normalize();
    if (config.root() != null && !cwd.startsWith(config.root())) {
      throw Status.PERMISSION_DENIED
          .withDescription("cwd " + requested + " is outside the sandbox")
          .asRuntimeException();
    }
    if (!Files.isDirectory(cwd)) {
      throw Status.NOT_FOUND
          .withDescription("cwd " + requested + ": no such directory")
          .asRuntimeException();
    }
    return cwd;
  }

  private static int checkSide(String what, int value) {
    if (value < 1 || value > MAX_PTY_SIDE) {
      throw invalid("pty " + what + " must be 1.." + MAX_PTY_SIDE + ", got " + value);
    }
    return value;
  }

  /** A caller's Start stream ended early: a foreground process without a PTY is hung up. */
  private void callerLeft(ManagedProcess managed) {
    if (managed.isBackground() || managed.isPty() || !running.containsKey(managed.pid())) {
      return;
    }
    hangUp(managed, "caller went away");
  }

  /** Nobody attached to a background process for its unattended timeout: hang it up. */
  private void unattended(ManagedProcess managed) {
    if (!running.containsKey(managed.pid())) {
      return;
    }
    log.info("pid {} ({}): unattended for its timeout, hanging up", managed.pid(), managed.tag());
    hangUp(managed, "unattended");
  }

  /** SIGHUP to the process group, then SIGKILL after {@link #HANGUP_GRACE} if it still runs. */
  private void hangUp(ManagedProcess managed, String reason) {
    managed.process().signal(Signals.HUP, true);
    scheduler.schedule(
        () -> {
          if (running.containsKey(managed.pid())) {
            managed.kill(reason);
          }
        },
        HANGUP_GRACE.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void onEnded(ManagedProcess managed) {
    running.remove(managed.pid());
    if (!managed.tag().isEmpty()) {
      tags.remove(managed.tag(), managed.pid());
    }
    synchronized (exited) {
      long now = System.nanoTime();
      exited.values().removeIf(e -> e.expiresAtNanos() < now);
      long keep = EXITED_RETENTION.toNanos();
      if (!managed.tag().isEmpty() && !managed.endSeen()) {
        // A detached command's status waits for its caller to come back (see the proto).
        long unattended = managed.unattendedTimeout().toNanos();
        keep = unattended == 0 ? Long.MAX_VALUE / 4 : Math.max(keep, unattended);
      }
      exited.put(managed.pid(), new ExitedProcess(managed, now + keep));
      while (exited.size() > MAX_EXITED_KEPT) {
        exited.remove(exited.keySet().iterator().next());
      }
    }
  }

  /**
   * NOT_FOUND for a pid: unknown, or reaped while its end is still being delivered ({@link #list}
   * already leaves it out, and a signal to it reached nothing).
   */
  private static StatusRuntimeException noProcess(int pid) {
    return Status.NOT_FOUND.withDescription("no process with pid " + pid).asRuntimeException();
  }

  private ManagedProcess find(int pid, String tag, boolean includeExited) {
    for (ManagedProcess p : running.values()) {
      if (tag.isEmpty() ? p.pid() == pid : p.tag().equals(tag)) {
        return p;
      }
    }
    if (includeExited) {
      synchronized (exited) {
        for (ExitedProcess e : exited.values()) {
          ManagedProcess p = e.process();
          if (e.expiresAtNanos() > System.nanoTime()
              && (tag.isEmpty() ? p.pid() == pid : p.tag().equals(tag) && !p.endSeen())) {
            return p;
          }
        }
      }
    }
    if (tag.isEmpty()) {
      throw noProcess(pid);
    }
    throw Status.NOT_FOUND.withDescription("no process tagged " + tag).asRuntimeException();
  }

  @Override
  public void connect(ConnectRequest request, StreamObserver<ProcessEvent> observer) {
    ManagedProcess managed;
    try {
      managed = find(request.getPid(), request.getTag(), true);
    } catch (StatusRuntimeException e) {
      observer.onError(e);
      return;
    }
    EventSink[] sink = new EventSink[1];
    sink[0] =
        new EventSink(
            (ServerCallStreamObserver<ProcessEvent>) observer, () -> managed.detach(sink[0]));
    managed.attach(sink[0], true, "");
  }

  @Override
  public StreamObserver<InputRequest> streamInput(StreamObserver<InputReply> observer) {
    ServerCallStreamObserver<InputReply> call = (ServerCallStreamObserver<InputReply>) observer;
    // One message at a time: the next is asked for only once this one reached the process, so
    // gRPC flow control, not the agent's heap, holds input a slow process has not read yet.
    call.disableAutoRequest();
    call.request(1);
    return new StreamObserver<>() {
      private ManagedProcess target;
      private boolean failed;

      @Override
      public void onNext(InputRequest input) {
        if (failed) {
          return;
        }
        try {
          if (target == null) {
            target = find(input.getPid(), input.getTag(), false);
          }
          deliver(target, input);
          call.request(1);
        } catch (StatusRuntimeException e) {
          failed = true;
          observer.onError(e);
        }
      }

      @Override
      public void onError(Throwable t) {
        // The caller went away; its input simply ends.
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
      deliver(find(request.getPid(), request.getTag(), false), request);
      observer.onNext(InputReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  private static void deliver(ManagedProcess target, InputRequest input) {
    try {
      if (!input.getData().isEmpty()) {
        target.process().write(input.getData());
      }
      if (input.getEof()) {
        target.process().closeStdin();
      }
    } catch (IOException e) {
      throw Status.FAILED_PRECONDITION
          .withDescription("pid " + target.pid() + ": " + e.getMessage())
          .asRuntimeException();
    }
  }

  @Override
  public void resize(ResizeRequest request, StreamObserver<ResizeReply> observer) {
    try {
      ManagedProcess target = find(request.getPid(), "", false);
      if (!target.isPty()) {
        throw Status.FAILED_PRECONDITION
            .withDescription("pid " + request.getPid() + " has no PTY")
            .asRuntimeException();
      }
      int cols = checkSide("cols", request.getSize().getCols());
      int rows = checkSide("rows", request.getSize().getRows());
      target.process().resize(cols, rows);
      observer.onNext(ResizeReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    } catch (IOException e) {
      observer.onError(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
    }
  }

  @Override
  public void sendSignal(SignalRequest request, StreamObserver<SignalReply> observer) {
    try {
      int signal = Signals.number(request.getSignal());
      if (signal < 0) {
        throw invalid("unknown signal " + abbreviate(request.getSignal()));
      }
      ManagedProcess target = find(request.getPid(), "", false);
      if (!target.process().signal(signal, request.getProcessGroup())) {
        throw noProcess(request.getPid());
      }
      observer.onNext(SignalReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  @Override
  public void list(ListRequest request, StreamObserver<ListReply> observer) {
    ListReply.Builder reply = ListReply.newBuilder();
    running.values().stream()
        .filter(p -> !p.process().exit().isDone())
        .map(ManagedProcess::info)
        .sorted((a, b) -> Integer.compare(a.getPid(), b.getPid()))
        .forEach(reply::addProcesses);
    observer.onNext(reply.build());
    observer.onCompleted();
  }

  @Override
  public void kill(KillRequest request, StreamObserver<KillReply> observer) {
    try {
      if (!find(request.getPid(), "", false).kill("killed")) {
        throw noProcess(request.getPid());
      }
      observer.onNext(KillReply.getDefaultInstance());
      observer.onCompleted();
    } catch (StatusRuntimeException e) {
      observer.onError(e);
    }
  }

  /** Whether a tagged process (a named session) runs or is starting. */
  public boolean holdsTaggedProcesses() {
    return !tags.isEmpty();
  }

  /** Kills every process this agent started; called when the agent stops. */
  public void shutdown() {
    for (ManagedProcess p : running.values()) {
      p.kill("agent stopping");
    }
    handOffs.closeAll();
    scheduler.shutdownNow();
  }

  /**
   * Kills every process in the agent's PID namespace but init and the agent: what its commands left
   * behind in other process groups (a shell's background jobs, nohup, setsid), which would
   * otherwise keep the namespace alive without its agent. Only for an agent that has a PID
   * namespace of its own: elsewhere kill(-1) reaches every process of its uid on the host.
   */
  public static void killRestOfPidNamespace() {
    try {
      LibC.INSTANCE.kill(-1, Signals.KILL);
    } catch (com.sun.jna.LastErrorException e) {
      // ESRCH: nothing was left.
    }
  }

  private static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
