package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A running {@code ssh -N} that holds forwards ({@code -L}, {@code -R}, {@code -D} given as extra
 * options), with its stderr collected and its log level at INFO so that lines such as "Allocated
 * port N" show.
 */
public final class SshForward implements AutoCloseable {
  private final Process process;
  private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  private final Thread stderrReader;

  private SshForward(Process process) {
    this.process = process;
    Thread t =
        new Thread(
            () -> {
              try (InputStream err = process.getErrorStream()) {
                byte[] buf = new byte[4096];
                for (int n; (n = err.read(buf)) > 0; ) {
                  synchronized (stderr) {
                    stderr.write(buf, 0, n);
                  }
                }
              } catch (IOException e) {
                // The process ended.
              }
            },
            "ssh-forward-stderr");
    t.setDaemon(true);
    t.start();
    this.stderrReader = t;
  }

  /** Starts {@code ssh -N [options] demo@gw}. */
  public static SshForward start(OpenSsh ssh, String... options) {
    return startAs(ssh, GatewayFixture.SANDBOX, options);
  }

  /** Starts {@code ssh -N [options] USER@gw}. */
  public static SshForward startAs(OpenSsh ssh, String user, String... options) {
    List<String> argv = new ArrayList<>();
    for (String a : ssh.sshCommand(user, null, options)) {
      // The first value of an option wins in ssh: replace the quiet default.
      argv.add(a.equals("LogLevel=ERROR") ? "LogLevel=INFO" : a);
    }
    argv.add(argv.size() - 1, "-N");
    return new SshForward(OpenSsh.start(argv));
  }

  /** A free local TCP port (which may be taken again by then, as with any such probe). */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** What ssh printed on stderr so far. */
  public String stderr() {
    synchronized (stderr) {
      return stderr.toString(StandardCharsets.UTF_8);
    }
  }

  /** Waits until {@code 127.0.0.1:port} accepts on this host (the client's -L/-D is up). */
  public SshForward awaitLocalPort(int port) {
    Instant deadline = Instant.now().plus(Timeouts.COMMAND);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        fail("ssh exited with %d: %s", process.exitValue(), stderr());
      }
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return this;
      } catch (IOException e) {
        pause();
      }
    }
    return fail("port %d never accepted; ssh said: %s", port, stderr());
  }

  /** Waits for stderr to match {@code regex} and returns its first group. */
  public String awaitStderr(String regex) {
    Pattern pattern = Pattern.compile(regex);
    Instant deadline = Instant.now().plus(Timeouts.COMMAND);
    while (Instant.now().isBefore(deadline)) {
      Matcher m = pattern.matcher(stderr());
      if (m.find()) {
        return m.groupCount() > 0 ? m.group(1) : m.group();
      }
      if (!process.isAlive()) {
        fail("ssh exited with %d before printing %s: %s", process.exitValue(), regex, stderr());
      }
      pause();
    }
    return fail("ssh never printed %s: %s", regex, stderr());
  }

  /** Waits for ssh to exit and returns its status. */
  public int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      fail("ssh did not exit in %s: %s", timeout, stderr());
    }
    // The exit can be seen before the reader has taken the last of stderr: wait for its end.
    stderrReader.join(timeout.toMillis());
    return process.exitValue();
  }

  /** Whether the ssh process is still running. */
  public boolean isAlive() {
    return process.isAlive();
  }

  private static void pause() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Ends the client (as a user's Ctrl-C would) and waits for it. */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
