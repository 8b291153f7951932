package dev.sandboxssh.sdk.envd;

import com.google.protobuf.ByteString;
import dev.sandboxssh.envd.process.ProcessConfig;
import dev.sandboxssh.envd.process.ProcessEvent;
import dev.sandboxssh.envd.process.ProcessInput;
import dev.sandboxssh.envd.process.ProcessSelector;
import dev.sandboxssh.envd.process.StartRequest;
import dev.sandboxssh.envd.process.StartResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;

/**
 * Runs small POSIX shell scripts in the sandbox through envd's process API: how the filesystem
 * calls envd has no rpc for (chmod, symlinks, exact mkdir and rename semantics, writes at an
 * offset) are done, with the coreutils every E2B template has. Arguments travel as positional
 * parameters, never spliced into the script, so no path can inject shell syntax.
 */
final class EnvdShell {
  /** What one script printed and how it ended. */
  record Result(int exitCode, String stdout, String stderr) {}

  /** Output kept of one script; these scripts print a line or two. */
  private static final int MAX_OUTPUT = 64 * 1024;

  private final EnvdHttp http;
  private final Duration timeout;

  EnvdShell(EnvdHttp http, Duration timeout) {
    this.http = http;
    this.timeout = timeout;
  }

  /** Runs {@code script} with {@code args} as $1..., to its end, with no stdin. */
  Result run(String script, List<String> args) {
    Running running = start(script, args, false, timeout.toMillis());
    return running.await();
  }

  /**
   * Runs {@code script} and fails with the status its stderr describes when it exits non-zero;
   * returns its stdout.
   */
  String check(String path, String script, List<String> args) {
    Result result = run(script, args);
    if (result.exitCode() != 0) {
      throw failure(path, result);
    }
    return result.stdout();
  }

  /** Starts {@code script} with stdin open for {@link Running#write}; no time limit. */
  Running startWithInput(String script, List<String> args) {
    return start(script, args, true, 0);
  }

  private Running start(String script, List<String> args, boolean stdin, long timeoutMs) {
    StartRequest request =
        StartRequest.newBuilder()
            .setProcess(
                ProcessConfig.newBuilder()
                    .setCmd("/bin/sh")
                    .addArgs("-c")
                    .addArgs(script)
                    .addArgs("sh")
                    .addAllArgs(args))
            .setStdin(stdin)
            .build();
    EnvdHttp.Stream<StartResponse> stream =
        http.serverStream("process.Process/Start", request, StartResponse.parser(), timeoutMs);
    try {
      StartResponse first = stream.next();
      if (first == null || !first.getEvent().hasStart()) {
        throw Status.INTERNAL.withDescription("envd did not start /bin/sh").asRuntimeException();
      }
      return new Running(stream, first.getEvent().getStart().getPid());
    } catch (RuntimeException e) {
      stream.close();
      throw e;
    }
  }

  /** One script while it runs. */
  final class Running {
    private final EnvdHttp.Stream<StartResponse> stream;
    private final int pid;

    private Running(EnvdHttp.Stream<StartResponse> stream, int pid) {
      this.stream = stream;
      this.pid = pid;
    }

    /** Writes {@code data} to its stdin. */
    void write(ByteString data) {
      http.sendInput(self(), ProcessInput.newBuilder().setStdin(data).build(), timeout);
    }

    /** Closes its stdin, so that it sees the end of its input. */
    void closeStdin() {
      http.closeStdin(self(), timeout);
    }

    private ProcessSelector self() {
      return ProcessSelector.newBuilder().setPid(pid).build();
    }

    /** Reads its output to the end. */
    Result await() {
      ByteString out = ByteString.EMPTY;
      ByteString err = ByteString.EMPTY;
      try (stream) {
        for (StartResponse r; (r = stream.next()) != null; ) {
          ProcessEvent event = r.getEvent();
          if (event.hasData()) {
            if (event.getData().hasStdout() && out.size() < MAX_OUTPUT) {
              out = out.concat(event.getData().getStdout());
            } else if (event.getData().hasStderr() && err.size() < MAX_OUTPUT) {
              err = err.concat(event.getData().getStderr());
            }
          } else if (event.hasEnd()) {
            ProcessEvent.EndEvent end = event.getEnd();
            return new Result(
                end.getExited() ? end.getExitCode() : 128, out.toStringUtf8(), err.toStringUtf8());
          }
        }
      }
      throw Status.UNAVAILABLE
          .withDescription("envd ended /bin/sh without its end")
          .asRuntimeException();
    }

    /** Stops waiting for it; envd lets it run on. */
    void abandon() {
      stream.close();
    }
  }

  /**
   * The status a failed script's stderr describes, with the errno as filesystem.proto's trailer.
   */
  static StatusRuntimeException failure(String path, Result result) {
    String message = result.stderr().strip();
    int newline = message.indexOf('\n');
    if (newline >= 0) {
      message = message.substring(0, newline);
    }
    if (message.isEmpty()) {
      message = path + ": failed (exit status " + result.exitCode() + ")";
    }
    String errno = Errno.fromMessage(message);
    Metadata trailers = new Metadata();
    if (errno != null) {
      trailers.put(EnvdHttp.ERRNO, errno);
      return Errno.status(errno).withDescription(message).asRuntimeException(trailers);
    }
    return Status.INTERNAL.withDescription(message).asRuntimeException(trailers);
  }
}
