package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.routing.SandboxUnreachableException;
import dev.sandboxssh.gateway.session.SessionContext;
import dev.sandboxssh.sdk.ProcessInfo;
import dev.sandboxssh.sdk.SandboxException;
import java.io.IOException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The table that {@code ssh SANDBOX+ps@gateway} prints: the sandbox's running processes as {@code
 * commands.list()} reports them, named sessions (tagged ones) with their attached clients.
 */
final class ProcessTable extends TextCommand {
  private static final DateTimeFormatter STARTED =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

  /** Widest command shown, so that one long command line does not wrap the table. */
  private static final int MAX_COMMAND = 200;

  private final String commandLine;

  /** The table for a shell, or a refusal for {@code commandLine} when one was given. */
  ProcessTable(String commandLine, Executor threads) {
    super(threads);
    this.commandLine = commandLine;
  }

  @Override
  int run() throws IOException {
    SessionContext context = SessionContext.of(channel.getSession());
    context.recordChannel("ps");
    if (commandLine != null) {
      return fail("sandbox " + context.sandboxId() + ": +ps lists processes and takes no command");
    }
    List<ProcessInfo> processes;
    try {
      processes = context.lease().sandbox().commands().list();
    } catch (SandboxUnreachableException e) {
      return fail(e.getMessage());
    } catch (SandboxException e) {
      return fail("sandbox " + context.sandboxId() + ": cannot list processes: " + e.getMessage());
    }
    print(format(processes, terminal()));
    return 0;
  }

  /** The table, one line per process, with a header; lines end with CRLF for a terminal. */
  static String format(List<ProcessInfo> processes, boolean terminal) {
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"PID", "SESSION", "PTY", "CLIENTS", "STARTED", "COMMAND"});
    for (ProcessInfo p : processes) {
      rows.add(
          new String[] {
            Integer.toString(p.pid()),
            p.tag().isEmpty() ? "-" : p.tag(),
            p.pty() ? "yes" : "no",
            Integer.toString(p.attached()),
            STARTED.format(p.startedAt()),
            commandLine(p)
          });
    }
    return columns(rows, terminal ? "\r\n" : "\n");
  }

  /** Left-aligned columns two spaces apart; the last column is not padded. */
  static String columns(List<String[]> rows, String newline) {
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length - 1; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    StringBuilder out = new StringBuilder();
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        out.append(row[i]);
        if (i < row.length - 1) {
          out.append(" ".repeat(widths[i] - row[i].length() + 2));
        }
      }
      out.append(newline);
    }
    return out.toString();
  }

  private static String commandLine(ProcessInfo p) {
    StringBuilder line = new StringBuilder(p.cmd());
    for (String arg : p.args()) {
      line.append(' ').append(arg);
    }
    // A command line is the sandbox's text: keep control characters off the client's terminal.
    String shown = line.toString().replaceAll("\\p{Cntrl}", "?");
    return shown.length() > MAX_COMMAND ? shown.substring(0, MAX_COMMAND) + "..." : shown;
  }
}
