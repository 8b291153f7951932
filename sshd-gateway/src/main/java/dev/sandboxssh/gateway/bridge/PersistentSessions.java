package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.session.LoginName;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.Commands;
import dev.sandboxssh.sdk.ProcessInfo;
import dev.sandboxssh.sdk.SandboxException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Opens what {@code SANDBOX+NAME} and {@code SANDBOX+PID} reach: a process in the agent that
 * outlives the connection, found again by its tag (the session name) or pid.
 *
 * <p>Everything lives in the agent (the tag, the scrollback, the unattended clock), so a restarted
 * gateway, or another gateway in front of the same sandbox, finds the same sessions.
 */
final class PersistentSessions {
  /**
   * Sent before a terminal's scrollback on attach: cursor home and erase the screen, so the replay
   * draws on a clean screen rather than under whatever the client's terminal showed.
   */
  static final byte[] CLEAR_SCREEN = "\033[H\033[2J".getBytes(StandardCharsets.US_ASCII);

  /** How often, and how far apart, a client that lost a race to create a name looks again. */
  private static final int CREATE_RACE_RETRIES = 50;

  private static final Duration CREATE_RACE_PAUSE = Duration.ofMillis(100);

  /** A first word that is plainly a program name, which can be looked up before starting. */
  private static final Pattern PROGRAM = Pattern.compile("[A-Za-z0-9_./+-]+");

  /** Why a session cannot be opened: one line for the client, with status 255. */
  static final class Refused extends Exception {
    Refused(String message) {
      super(message);
    }
  }

  /** What was opened: the process and whether it has a terminal. */
  record Opened(CommandHandle handle, boolean terminal, boolean created) {}

  private final String sandboxId;
  private final Commands commands;
  private final LoginName name;
  private final Duration detachedTimeout;

  PersistentSessions(
      String sandboxId, Commands commands, LoginName name, Duration detachedTimeout) {
    this.sandboxId = sandboxId;
    this.commands = commands;
    this.name = name;
    this.detachedTimeout = detachedTimeout;
  }

  /**
   * Opens the login's session: attaches to it, or for a name not in use starts {@code commandLine}
   * (null: a login shell on a terminal) tagged with the name.
   *
   * @param options output sinks, environment and the client's terminal, if any
   * @param pty the client's terminal, or null
   * @param out the client's output, for the clear-screen before a terminal's replay
   */
  Opened open(String commandLine, CommandOptions options, PtyRequest pty, OutputStream out)
      throws Refused, IOException {
    if (name.form() == LoginName.Form.PROCESS) {
      if (commandLine != null) {
        throw refused("+" + name.pid() + " attaches to a running process and takes no command");
      }
      ProcessInfo process =
          running(p -> p.pid() == name.pid())
              .orElseThrow(() -> refused("no running process with pid " + name.pid()));
      if (process.handedOff()) {
        // Its bytes go straight between the sandbox and the gateway that started it: an attach
        // through the agent would see nothing. Sessions meant to be shared are named ones.
        throw refused(
            "process "
                + name.pid()
                + " belongs to a plain login, whose output only that login sees; share a"
                + " session by starting it as "
                + sandboxId
                + "+NAME");
      }
      return attach(process, options, pty, out);
    }
    String tag = name.session();
    if (commandLine != null) {
      if (name.readOnly()) {
        throw refused("+ro watches session " + tag + " and takes no command");
      }
      requireProgram(commandLine);
      try {
        CommandHandle handle = commands.run(commandLine, persistent(options, tag));
        return new Opened(handle, pty != null, true);
      } catch (SandboxException e) {
        if (e.code() == SandboxException.Code.ALREADY_EXISTS) {
          throw refused(
              "session "
                  + tag
                  + " is still running; attach to it with ssh "
                  + sandboxId
                  + "+"
                  + tag
                  + "@ and no command");
        }
        throw e;
      }
    }
    // Two clients racing to create the same name: the loser attaches to the winner's shell.
    for (int attempt = 0; ; attempt++) {
      Optional<ProcessInfo> live = running(p -> p.tag().equals(tag));
      if (live.isPresent()) {
        return attach(live.get(), options, pty, out);
      }
      try {
        // A detached command that ended while nobody watched: its output and status, once.
        return new Opened(commands.connect(tag, options), false, false);
      } catch (SandboxException e) {
        if (e.code() != SandboxException.Code.NOT_FOUND) {
          throw e;
        }
      }
      if (name.readOnly()) {
        throw refused("no session " + tag + " to watch");
      }
      CommandOptions shell = persistent(options, tag);
      if (pty == null) {
        // A named session is a terminal even for a client that asked for none (ssh -T).
        shell.pty(PtyRequest.DEFAULT_COLS, PtyRequest.DEFAULT_ROWS, "xterm-256color", Map.of());
      }
      try {
        return new Opened(commands.start(List.of(ProcessBridge.SHELL, "-l"), shell), true, true);
      } catch (SandboxException e) {
        if (e.code() != SandboxException.Code.ALREADY_EXISTS || attempt >= CREATE_RACE_RETRIES) {
          throw e;
        }
      }
      // The winner's shell is still starting; it is listed once it runs.
      try {
        Thread.sleep(CREATE_RACE_PAUSE.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw refused("interrupted");
      }
    }
  }

  private CommandOptions persistent(CommandOptions options, String tag) {
    return options.tag(tag).background(true).handOff(false).unattendedTimeout(detachedTimeout);
  }

  /**
   * Attaches to a running process: a terminal gets a clear screen, its scrollback and, from a
   * client that may type, the client's size (the newest client's size wins), set so that a
   * full-screen program redraws.
   */
  private Opened attach(
      ProcessInfo process, CommandOptions options, PtyRequest pty, OutputStream out)
      throws IOException {
    if (process.pty()) {
      out.write(CLEAR_SCREEN);
      out.flush();
    }
    CommandHandle handle = commands.connect(process.pid(), options);
    if (process.pty() && pty != null && !name.readOnly()) {
      try {
        // The kernel signals only a change: one row less first, so that a full-screen program
        // (vim, top) repaints now even when this client's size is the session's already.
        handle.resize(pty.cols(), pty.rows() > 1 ? pty.rows() - 1 : pty.rows() + 1);
        handle.resize(pty.cols(), pty.rows());
      } catch (SandboxException e) {
        // It exited meanwhile; the end arrives on the stream.
      }
    }
    return new Opened(handle, process.pty(), false);
  }

  private Optional<ProcessInfo> running(java.util.function.Predicate<ProcessInfo> which) {
    return commands.list().stream().filter(which).findFirst();
  }

  /**
   * Refuses a command line whose program does not exist, before anything starts: a detached command
   * that could only fail with 127 would otherwise take the name. Only a plain first word is looked
   * up (as {@code type} does: functions, builtins, keywords, PATH); anything cleverer is left to
   * the shell.
   */
  private void requireProgram(String commandLine) throws Refused {
    String first = commandLine.strip().split("\\s+", 2)[0];
    if (first.isEmpty() || !PROGRAM.matcher(first).matches()) {
      return;
    }
    CommandHandle check =
        commands.start(
            List.of(
                ProcessBridge.SHELL,
                "-l",
                "-c",
                "type -t -- \"$1\" >/dev/null 2>&1",
                "type",
                first),
            CommandOptions.create());
    Integer code = check.waitFor().exitCode();
    if (code == null || code != 0) {
      throw refused("session " + name.session() + " not started: " + first + ": command not found");
    }
  }

  private Refused refused(String what) {
    return new Refused("sandbox " + sandboxId + ": " + what);
  }
}
