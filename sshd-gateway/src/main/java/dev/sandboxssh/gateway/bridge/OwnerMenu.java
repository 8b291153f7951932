package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.routing.SandboxLease;
import dev.sandboxssh.gateway.session.SessionContext;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.sdk.ProcessInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Collectors;
import org.apache.sshd.server.channel.ChannelDataReceiver;
import org.apache.sshd.server.channel.ChannelSession;

/**
 * What {@code ssh OWNER@gateway} shows the owner: their sandboxes (id, provider, state, running
 * sessions) and, on a terminal, a prompt to pick one and continue into a shell there.
 */
final class OwnerMenu extends TextCommand {
  /** Longest answer the prompt takes; a sandbox id is at most 63 characters. */
  private static final int MAX_ANSWER = 64;

  /** Keystrokes typed ahead of the prompt are kept up to this many chunks; more are dropped. */
  private static final int MAX_PENDING = 256;

  private static final byte[] EOF = new byte[0];

  private final String commandLine;
  private final OwnershipStore store;
  private final Duration detachedTimeout;
  private final Executor threads;
  private final BlockingQueue<byte[]> keys = new LinkedBlockingQueue<>(MAX_PENDING);
  private volatile ProcessBridge shell;

  private OwnerMenu(
      String commandLine, OwnershipStore store, Duration detachedTimeout, Executor threads) {
    super(threads);
    this.commandLine = commandLine;
    this.store = store;
    this.detachedTimeout = detachedTimeout;
    this.threads = threads;
  }

  /** The menu on {@code channel}, which takes the channel's input (the owner's answer). */
  static OwnerMenu on(
      ChannelSession channel,
      String commandLine,
      OwnershipStore store,
      Duration detachedTimeout,
      Executor threads) {
    OwnerMenu menu = new OwnerMenu(commandLine, store, detachedTimeout, threads);
    channel.setDataReceiver(menu.new Keys());
    return menu;
  }

  /** One sandbox as the list shows it. */
  private record Row(SandboxRecord sandbox, String state, List<String> sessions) {}

  @Override
  int run() throws IOException {
    SessionContext context = SessionContext.of(channel.getSession());
    context.recordChannel("owner-menu");
    String owner = context.owner();
    List<Row> rows =
        store.listSandboxes().stream()
            .filter(s -> s.owner().equals(owner))
            .sorted(Comparator.comparing(SandboxRecord::id))
            .map(s -> row(context, s))
            .toList();
    if (rows.isEmpty()) {
      print("Owner " + owner + " has no sandboxes." + newline());
      return 0;
    }
    print(table(owner, rows));
    if (commandLine != null || !terminal()) {
      return 0;
    }
    while (true) {
      print("Open a shell in which sandbox? (number or id; q to quit) ");
      String answer = readAnswer();
      if (answer == null || answer.equals("q")) {
        print(newline());
        return 0;
      }
      Optional<Row> chosen = pick(rows, answer.strip());
      if (chosen.isEmpty()) {
        print("No sandbox " + answer.strip() + " here." + newline());
        continue;
      }
      context.choose(chosen.get().sandbox());
      print("Sandbox " + chosen.get().sandbox().id() + ":" + newline());
      // The shell takes over the channel: its input, its output and its exit status.
      ProcessBridge bridge =
          ProcessBridge.on(channel, ProcessBridge.Kind.SHELL, null, detachedTimeout, threads);
      bridge.setOutputStream(out);
      bridge.setErrorStream(err);
      bridge.setExitCallback(exit);
      shell = bridge;
      bridge.start(channel, environment);
      return -1;
    }
  }

  @Override
  public void destroy(ChannelSession channel) {
    keys.offer(EOF);
    ProcessBridge bridge = shell;
    if (bridge != null) {
      bridge.destroy(channel);
    }
  }

  private static Row row(SessionContext context, SandboxRecord sandbox) {
    // Only sandboxes already running are asked: a listing must not start every agent it shows.
    Optional<SandboxLease> lease = context.resolver().ifRunning(sandbox);
    if (lease.isEmpty()) {
      String state = sandbox.provider() == SandboxRecord.Provider.LOCAL ? "stopped" : "unreachable";
      return new Row(sandbox, state, List.of());
    }
    try (SandboxLease l = lease.get()) {
      List<String> sessions =
          l.sandbox().commands().list().stream()
              .map(ProcessInfo::tag)
              .filter(t -> !t.isEmpty())
              .sorted()
              .toList();
      return new Row(sandbox, "running", sessions);
    } catch (RuntimeException e) {
      return new Row(sandbox, "unreachable", List.of());
    }
  }

  private String table(String owner, List<Row> rows) {
    List<String[]> cells = new ArrayList<>();
    cells.add(new String[] {"#", "SANDBOX", "PROVIDER", "STATE", "SESSIONS"});
    int n = 0;
    for (Row r : rows) {
      cells.add(
          new String[] {
            Integer.toString(++n),
            r.sandbox().id(),
            r.sandbox().provider().name().toLowerCase(Locale.ROOT),
            r.state(),
            r.sessions().isEmpty()
                ? "-"
                : r.sessions().size()
                    + " ("
                    + r.sessions().stream().collect(Collectors.joining(", "))
                    + ")"
          });
    }
    return "Sandboxes of " + owner + ":" + newline() + ProcessTable.columns(cells, newline());
  }

  private static Optional<Row> pick(List<Row> rows, String answer) {
    if (answer.matches("[0-9]{1,4}")) {
      int i = Integer.parseInt(answer);
      return i >= 1 && i <= rows.size() ? Optional.of(rows.get(i - 1)) : Optional.empty();
    }
    return rows.stream().filter(r -> r.sandbox().id().equals(answer)).findFirst();
  }

  /**
   * Reads one answer with the line editing a terminal would do (the client's terminal is raw: the
   * gateway echoes); null for Ctrl-C, Ctrl-D or the channel's end.
   */
  private String readAnswer() throws IOException {
    StringBuilder line = new StringBuilder();
    boolean escape = false;
    while (true) {
      byte[] chunk;
      try {
        chunk = keys.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
      if (chunk == EOF) {
        return null;
      }
      for (byte b : chunk) {
        int c = b & 0xff;
        if (escape) {
          // Skip an escape sequence (arrow keys...) up to its final letter.
          escape = !(c >= 0x40 && c <= 0x7e && c != '[');
          continue;
        }
        switch (c) {
          case '\r', '\n' -> {
            print(newline());
            return line.toString();
          }
          case 0x03, 0x04 -> {
            return null;
          }
          case 0x7f, 0x08 -> {
            if (!line.isEmpty()) {
              line.setLength(line.length() - 1);
              print("\b \b");
            }
          }
          case 0x1b -> escape = true;
          default -> {
            if (c >= 0x20 && c < 0x7f && line.length() < MAX_ANSWER) {
              line.append((char) c);
              print(String.valueOf((char) c));
            }
          }
        }
      }
    }
  }

  /** The channel's input until the shell takes over. */
  private final class Keys implements ChannelDataReceiver {
    @Override
    public int data(ChannelSession channel, byte[] buf, int start, int len) {
      byte[] copy = new byte[len];
      System.arraycopy(buf, start, copy, 0, len);
      keys.offer(copy); // dropped when the owner pastes far ahead of the prompt
      return len;
    }

    @Override
    public void close() {
      keys.offer(EOF);
    }
  }
}
