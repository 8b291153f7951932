package dev.sandboxssh.gateway.bridge;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session channel the gateway answers itself, with text rather than a process in a sandbox: the
 * process table and an owner's list of sandboxes. {@link #run} runs on a bridge thread.
 */
abstract class TextCommand implements Command {
  private static final Logger log = LoggerFactory.getLogger(TextCommand.class);

  private final Executor threads;
  protected ChannelSession channel;
  protected Environment environment;
  protected InputStream in;
  protected OutputStream out;
  protected OutputStream err;
  protected ExitCallback exit;

  TextCommand(Executor threads) {
    this.threads = threads;
  }

  /** Does the work; returns the exit status, or writes a line with {@link #fail} first. */
  abstract int run() throws IOException;

  @Override
  public void setInputStream(InputStream in) {
    this.in = in;
  }

  @Override
  public void setOutputStream(OutputStream out) {
    this.out = out;
  }

  @Override
  public void setErrorStream(OutputStream err) {
    this.err = err;
  }

  @Override
  public void setExitCallback(ExitCallback callback) {
    this.exit = callback;
  }

  @Override
  public void start(ChannelSession channel, Environment env) {
    this.channel = channel;
    this.environment = env;
    threads.execute(
        () -> {
          int status;
          try {
            status = run();
          } catch (IOException | RuntimeException e) {
            status = fail("gateway: " + e.getMessage());
          }
          if (status >= 0) {
            exit.onExit(status);
          }
        });
  }

  @Override
  public void destroy(ChannelSession channel) {}

  /** Whether the client asked for a terminal: lines then end with CRLF, as a tty would send. */
  boolean terminal() {
    return channel instanceof GatewayChannelSession s && s.pty() != null;
  }

  /** The line end for this client. */
  String newline() {
    return terminal() ? "\r\n" : "\n";
  }

  /** Writes {@code text} to the client's stdout. */
  void print(String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Writes one line to stderr and returns {@link ExitCodes#GATEWAY_FAILURE}. */
  int fail(String line) {
    log.info("session refused: {}", line);
    try {
      err.write((line + newline()).getBytes(StandardCharsets.UTF_8));
      err.flush();
    } catch (IOException e) {
      // The client is gone.
    }
    return ExitCodes.GATEWAY_FAILURE;
  }
}
