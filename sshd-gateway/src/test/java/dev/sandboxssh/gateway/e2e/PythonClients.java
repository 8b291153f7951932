package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs a script with Debian's python, where the SSH clients paramiko and asyncssh are. */
final class PythonClients {
  /** Debian's python, where python3-paramiko and python3-asyncssh are installed. */
  private static final Path PYTHON = Path.of("/usr/bin/python3");

  private PythonClients() {}

  /** Runs {@code script} with {@code args} as its sys.argv[1:]; a missing python fails the test. */
  static OpenSsh.Result run(String script, String... args) {
    if (!Files.isExecutable(PYTHON)) {
      fail(
          PYTHON + " is missing: run .ci/run or apt-get install python3-paramiko python3-asyncssh");
    }
    List<String> argv = new ArrayList<>(List.of(PYTHON.toString(), "-W", "ignore", "-c", script));
    argv.addAll(List.of(args));
    return OpenSsh.run(argv, new byte[0], Timeouts.COMMAND);
  }
}
