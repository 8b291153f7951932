package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the OpenSSH client binaries ({@code ssh}, {@code scp}, {@code sftp}) against a gateway, with
 * no user config, a private known_hosts file and one identity, and cleans up after them. A missing
 * binary fails the test: it is installed by {@code .ci/run}.
 */
public final class OpenSsh {
  /** What a finished client printed and returned. */
  public record Result(int exitCode, byte[] stdoutBytes, String stderr) {
    /** Standard output as UTF-8. */
    public String stdout() {
      return new String(stdoutBytes, StandardCharsets.UTF_8);
    }
  }

  private final String host;
  private final int port;
  private final Path identity;
  private final Path knownHosts;

  /** A client for the gateway at {@code host:port} that logs in with {@code identity}. */
  public OpenSsh(String host, int port, Path identity, Path knownHosts) {
    this.host = host;
    this.port = port;
    this.identity = identity;
    this.knownHosts = knownHosts;
  }

  /** The same client with another identity. */
  public OpenSsh withIdentity(Path otherIdentity) {
    return new OpenSsh(host, port, otherIdentity, knownHosts);
  }

  /** {@code ssh} options that make the client deterministic: no config, batch mode. */
  public List<String> options() {
    return new ArrayList<>(
        List.of(
            "-F", "/dev/null",
            "-p", Integer.toString(port),
            "-i", identity.toString(),
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "UserKnownHostsFile=" + knownHosts,
            "-o", "ConnectTimeout=20",
            "-o", "LogLevel=ERROR"));
  }

  /** {@code ssh [extra options] user@host command}, with no input. */
  public Result ssh(String user, String command, String... extraOptions) {
    return run(sshCommand(user, command, extraOptions), new byte[0], Timeouts.COMMAND);
  }

  /** {@code ssh} as above, with {@code stdin} as input, waiting at most {@code timeout}. */
  public Result ssh(
      String user, String command, byte[] stdin, Duration timeout, String... extraOptions) {
    return run(sshCommand(user, command, extraOptions), stdin, timeout);
  }

  /**
   * The argv of an ssh invocation; {@code command} may be null for a shell. The extra options come
   * before the defaults: ssh keeps the first value it sees, so they override them.
   */
  public List<String> sshCommand(String user, String command, String... extraOptions) {
    List<String> argv = new ArrayList<>();
    argv.add(binary("ssh"));
    argv.addAll(List.of(extraOptions));
    argv.addAll(options());
    argv.add(user + "@" + host);
    if (command != null) {
      argv.add(command);
    }
    return argv;
  }

  /** Starts a client process the caller drives and must destroy. */
  public static Process start(List<String> argv) {
    return start(argv, Map.of());
  }

  /** Starts a client process with {@code extraEnv} added to this JVM's environment. */
  public static Process start(List<String> argv, Map<String, String> extraEnv) {
    try {
      ProcessBuilder builder = new ProcessBuilder(argv);
      Map<String, String> env = builder.environment();
      env.remove("SSH_AUTH_SOCK");
      env.putAll(extraEnv);
      return builder.start();
    } catch (IOException e) {
      return fail("cannot start " + argv.get(0) + ": " + e.getMessage());
    }
  }

  /**
   * The first line a started client prints on stdout (read off the test thread, with a deadline).
   */
  public static String firstLine(Process p) throws Exception {
    return nextLine(
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
  }

  /** The next line of {@code out}, waiting at most {@link Timeouts#COMMAND}; null at its end. */
  public static String nextLine(BufferedReader out) throws Exception {
    return CompletableFuture.supplyAsync(
            () -> {
              try {
                return out.readLine();
              } catch (IOException e) {
                return null;
              }
            },
            BlockingTasks.THREADS)
        .get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
  }

  /** Runs {@code argv} to completion, feeding {@code stdin}; kills it after {@code timeout}. */
  public static Result run(List<String> argv, byte[] stdin, Duration timeout) {
    return run(argv, stdin, timeout, Map.of());
  }

  /** As {@link #run(List, byte[], Duration)}, with {@code extraEnv} in the client's environment. */
  public static Result run(
      List<String> argv, byte[] stdin, Duration timeout, Map<String, String> extraEnv) {
    Process p = start(argv, extraEnv);
    try {
      CompletableFuture<byte[]> out = drain(p.getInputStream());
      CompletableFuture<byte[]> err = drain(p.getErrorStream());
      CompletableFuture.runAsync(
          () -> {
            try (OutputStream in = p.getOutputStream()) {
              in.write(stdin);
            } catch (IOException e) {
              // The client exited without reading its input; its result tells why.
            }
          },
          BlockingTasks.THREADS);
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return fail(
            "%s did not finish in %s; stderr so far: %s",
            argv, timeout, new String(err.getNow(new byte[0]), StandardCharsets.UTF_8));
      }
      return new Result(
          p.exitValue(),
          out.get(10, TimeUnit.SECONDS),
          new String(err.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
    } catch (Exception e) {
      return fail("running " + argv + " failed: " + e);
    } finally {
      p.destroyForcibly();
    }
  }

  private static CompletableFuture<byte[]> drain(InputStream stream) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (stream) {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            stream.transferTo(buffer);
            return buffer.toByteArray();
          } catch (IOException e) {
            return new byte[0];
          }
        },
        BlockingTasks.THREADS);
  }

  /** The absolute path of an OpenSSH binary, failing the test when it is not installed. */
  public static String binary(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return fail(name + " is not installed: run .ci/run or apt-get install openssh-client");
  }
}
