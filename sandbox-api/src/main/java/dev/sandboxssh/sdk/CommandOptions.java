package dev.sandboxssh.sdk;

import java.io.OutputStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/** How to start a command: E2B's options object, as a fluent builder. */
public final class CommandOptions {
  boolean background;
  final Map<String, String> envs = new LinkedHashMap<>();
  String cwd = "";
  String tag = "";
  Duration timeout = Duration.ZERO;
  Duration unattendedTimeout = Duration.ZERO;
  String shell = "";
  boolean pty;
  int cols;
  int rows;
  String term = "";
  String ptyPathEnv = "";
  final Map<String, Integer> modes = new LinkedHashMap<>();
  OutputSink stdout;
  OutputSink stderr;
  boolean handOff;

  private CommandOptions() {}

  /** Defaults: foreground, no PTY, the sandbox user's home, no timeout. */
  public static CommandOptions create() {
    return new CommandOptions();
  }

  /**
   * Asks the agent to hand the process's stdio descriptors to the caller, who then reads and writes
   * them itself (see {@link CommandHandle#handOff}); only a caller on the agent's host can take
   * them. The agent may decline, and then output arrives as usual.
   */
  public CommandOptions handOff(boolean handOff) {
    this.handOff = handOff;
    return this;
  }

  /** Keep running after the caller's handle disconnects (E2B {@code background: true}). */
  public CommandOptions background(boolean background) {
    this.background = background;
    return this;
  }

  /** Sets one environment variable of the process. */
  public CommandOptions env(String name, String value) {
    envs.put(name, value);
    return this;
  }

  /** Sets environment variables of the process. */
  public CommandOptions envs(Map<String, String> values) {
    envs.putAll(values);
    return this;
  }

  /** The working directory; relative to the sandbox user's home. */
  public CommandOptions cwd(String cwd) {
    this.cwd = cwd;
    return this;
  }

  /** A label unique among running processes, for {@link Commands#connect}. */
  public CommandOptions tag(String tag) {
    this.tag = tag;
    return this;
  }

  /** Kill the process after this long; zero means never. */
  public CommandOptions timeout(Duration timeout) {
    this.timeout = timeout;
    return this;
  }

  /**
   * For a background process: hang it up once nobody has been attached for this long (the clock
   * restarts at each detach); zero means never.
   */
  public CommandOptions unattendedTimeout(Duration timeout) {
    this.unattendedTimeout = timeout;
    return this;
  }

  /** The shell that runs a command line ({@code SHELL -l -c CMD}); default /bin/bash. */
  public CommandOptions shell(String shell) {
    this.shell = shell;
    return this;
  }

  /**
   * Gives the process a terminal of {@code cols} x {@code rows}; its output then arrives on {@link
   * #onStdout}.
   *
   * @param modes terminal modes by POSIX name ("VERASE", "ECHO"...), as RFC 4254 section 8
   */
  public CommandOptions pty(int cols, int rows, String term, Map<String, Integer> modes) {
    this.pty = true;
    this.cols = cols;
    this.rows = rows;
    this.term = term == null ? "" : term;
    this.modes.putAll(modes);
    return this;
  }

  /** With {@link #pty}: the process also gets variable {@code name} holding its terminal's path. */
  public CommandOptions ptyPathEnv(String name) {
    this.ptyPathEnv = name == null ? "" : name;
    return this;
  }

  /**
   * Receives stdout (or terminal output) chunks, on a thread of the handle's own; the next chunk is
   * fetched only after it returns, so a slow consumer slows only this process. Without it, output
   * is collected into {@link CommandResult#stdout()}.
   */
  public CommandOptions onStdout(Consumer<byte[]> onStdout) {
    this.stdout = onStdout == null ? null : data -> onStdout.accept(data.toByteArray());
    return this;
  }

  /** Receives stderr chunks, as {@link #onStdout}. */
  public CommandOptions onStderr(Consumer<byte[]> onStderr) {
    this.stderr = onStderr == null ? null : data -> onStderr.accept(data.toByteArray());
    return this;
  }

  /**
   * Writes stdout (or terminal output) chunks to {@code sink} as {@link #onStdout} delivers them,
   * without copying each chunk first: the array {@code sink.write} gets is the received message's
   * own, valid only during the call. An {@link java.io.IOException} from the sink drops that chunk.
   */
  public CommandOptions stdoutTo(OutputStream sink) {
    this.stdout = sink == null ? null : OutputSink.writingTo(sink);
    return this;
  }

  /** Writes stderr chunks to {@code sink}, as {@link #stdoutTo}. */
  public CommandOptions stderrTo(OutputStream sink) {
    this.stderr = sink == null ? null : OutputSink.writingTo(sink);
    return this;
  }
}
