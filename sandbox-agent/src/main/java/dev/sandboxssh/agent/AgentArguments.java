package dev.sandboxssh.agent;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's command line, parsed by hand: every agent start pays for its parser, and a parser
 * library compiled for an old class-file version cannot be kept in the JDK's AOT cache (picocli
 * cost a cold agent about a fifth of its start).
 *
 * @param listen {@code HOST:PORT} or {@code unix:PATH}
 * @param tokenFile the file holding the bearer token
 * @param root the directory the filesystem API is confined to, or null
 * @param home the sandbox user's home, or null for the default
 * @param envdListen {@code HOST:PORT} for E2B's envd API, or null
 * @param exitWithStdin exit when standard input reaches end of file
 * @param ownPidNamespace kill what is left in the PID namespace on the way out
 */
record AgentArguments(
    String listen,
    Path tokenFile,
    Path root,
    Path home,
    String envdListen,
    boolean exitWithStdin,
    boolean ownPidNamespace) {

  static final String USAGE =
      """
      Usage: sandbox-agent --listen ADDR --token-file FILE [--root DIR] [--home DIR]
                           [--envd-listen HOST:PORT] [--exit-with-stdin] [--own-pid-namespace]
      Serves one sandbox's processes, filesystem and network tunnels over gRPC.
            --listen ADDR          HOST:PORT or unix:PATH (use loopback or a unix socket).
            --token-file FILE      File holding the bearer token every call must present.
            --root DIR             Confine the filesystem API to paths inside DIR.
            --home DIR             The sandbox user's home (default: the --root DIR, else $HOME).
            --envd-listen HOST:PORT
                                   Also serve E2B's envd API (Connect over HTTP/1.1, token in
                                   X-Access-Token) here, on the same processes and files, for
                                   the official E2B SDKs.
            --exit-with-stdin      Exit when standard input reaches end of file: the parent holds
                                   it open, so the agent cannot outlive a parent that died, even
                                   by SIGKILL. While it runs named sessions (tagged processes) it
                                   stays, until they and every client connection are gone, so
                                   that a restarted parent finds them again.
            --own-pid-namespace    The agent runs in a PID namespace of its own (bubblewrap): when
                                   it stops, it kills every process left in it, so that nothing
                                   of the sandbox outlives it.
        -h, --help                 Show this help message and exit.
        -V, --version              Print version information and exit.
      """;

  /** A command line that cannot be run; the message names every problem. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /** A command line that asks for the help or the version: the text to print instead. */
  static final class InfoRequested extends Exception {
    InfoRequested(String text) {
      super(text, null, false, false);
    }
  }

  private static String version() {
    String v = AgentArguments.class.getPackage().getImplementationVersion();
    return "sandbox-agent " + (v != null ? v : "(development build)") + "\n";
  }

  /**
   * Parses {@code args}: options as {@code --name value} or {@code --name=value}.
   *
   * @throws InfoRequested for {@code --help} or {@code --version}
   * @throws UsageException naming every unknown option, missing value and missing option
   */
  static AgentArguments parse(String... args) throws UsageException, InfoRequested {
    String listen = null;
    String tokenFile = null;
    String root = null;
    String home = null;
    String envdListen = null;
    boolean exitWithStdin = false;
    boolean ownPidNamespace = false;
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      switch (name) {
        case "-h", "--help" -> throw new InfoRequested(USAGE);
        case "-V", "--version" -> throw new InfoRequested(version());
        case "--exit-with-stdin", "--own-pid-namespace" -> {
          if (value != null) {
            problems.add(name + " takes no value");
          } else if (name.equals("--exit-with-stdin")) {
            exitWithStdin = true;
          } else {
            ownPidNamespace = true;
          }
        }
        case "--listen", "--token-file", "--root", "--home", "--envd-listen" -> {
          if (value == null) {
            if (i + 1 >= args.length) {
              problems.add("missing value for " + name);
              continue;
            }
            value = args[++i];
          }
          switch (name) {
            case "--listen" -> listen = value;
            case "--token-file" -> tokenFile = value;
            case "--root" -> root = value;
            case "--home" -> home = value;
            default -> envdListen = value;
          }
        }
        default -> problems.add("unknown option: '" + arg + "'");
      }
    }
    if (listen == null) {
      problems.add("missing required option: '--listen=ADDR'");
    }
    if (tokenFile == null) {
      problems.add("missing required option: '--token-file=FILE'");
    }
    if (!problems.isEmpty()) {
      throw new UsageException(String.join("\n", problems));
    }
    return new AgentArguments(
        listen,
        Path.of(tokenFile),
        root == null ? null : Path.of(root),
        home == null ? null : Path.of(home),
        envdListen,
        exitWithStdin,
        ownPidNamespace);
  }
}
