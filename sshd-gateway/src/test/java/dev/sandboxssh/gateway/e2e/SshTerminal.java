package dev.sandboxssh.gateway.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * An interactive {@code ssh -tt USER@gateway}: the gateway side gets a terminal, the test types
 * into the client's stdin and waits for text in everything the client printed. {@link #kill} drops
 * the connection the hard way (SIGKILL to the client), as a dead laptop would.
 */
public final class SshTerminal implements AutoCloseable {
  private final Process client;
  private final ByteArrayOutputStream seen = new ByteArrayOutputStream(); // guarded by itself
  private final OutputStream keys;

  private SshTerminal(Process client) {
    this.client = client;
    this.keys = client.getOutputStream();
    BlockingTasks.THREADS.execute(() -> collect(client.getInputStream()));
    BlockingTasks.THREADS.execute(() -> collect(client.getErrorStream()));
  }

  /** Opens a terminal session as {@code user} with {@code ssh}'s identity. */
  public static SshTerminal open(OpenSsh ssh, String user) {
    return new SshTerminal(OpenSsh.start(ssh.sshCommand(user, null, "-tt")));
  }

  /** Sends keystrokes. */
  public SshTerminal type(String text) throws IOException {
    keys.write(text.getBytes(StandardCharsets.UTF_8));
    keys.flush();
    return this;
  }

  /** Waits until the output so far contains {@code text}. */
  public SshTerminal await(String text) {
    Eventually.until(this::output, Timeouts.COMMAND, () -> output().contains(text), "see " + text);
    return this;
  }

  /** Everything the client printed so far, stdout and stderr together. */
  public String output() {
    synchronized (seen) {
      return seen.toString(StandardCharsets.UTF_8);
    }
  }

  /** Forgets the output so far, so that {@link #await} sees only what comes next. */
  public SshTerminal clear() {
    synchronized (seen) {
      seen.reset();
    }
    return this;
  }

  /** Kills the client with SIGKILL: the gateway sees the connection drop, nothing more. */
  public void kill() throws InterruptedException {
    client.destroyForcibly();
    client.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
  }

  /** Waits for the client to exit on its own; its exit status. */
  public int awaitExit(Duration timeout) throws InterruptedException {
    if (!client.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("ssh still running after " + timeout + "; output: " + output());
    }
    return client.exitValue();
  }

  @Override
  public void close() {
    client.destroyForcibly();
  }

  private void collect(InputStream in) {
    byte[] buffer = new byte[8192];
    try (in) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        synchronized (seen) {
          seen.write(buffer, 0, n);
        }
      }
    } catch (IOException e) {
      // The client is gone.
    }
  }
}
