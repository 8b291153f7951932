package dev.sandboxssh.agent;

import dev.sandboxssh.agent.process.ProcessServiceImpl;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sandbox-agent --listen ADDR --token-file FILE [--root DIR]}. */
@Command(
    name = "sandbox-agent",
    mixinStandardHelpOptions = true,
    description = "Serves one sandbox's processes, filesystem and network tunnels over gRPC.")
public final class AgentMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

  @Option(
      names = "--listen",
      required = true,
      paramLabel = "ADDR",
      description = "HOST:PORT or unix:PATH (use loopback or a unix socket).")
  String listen;

  @Option(
      names = "--token-file",
      required = true,
      paramLabel = "FILE",
      description = "File holding the bearer token every call must present.")
  Path tokenFile;

  @Option(
      names = "--root",
      paramLabel = "DIR",
      description = "Confine the filesystem API to paths inside DIR.")
  Path root;

  @Option(
      names = "--home",
      paramLabel = "DIR",
      description = "The sandbox user's home (default: the --root DIR, else $HOME).")
  Path home;

  @Option(
      names = "--envd-listen",
      paramLabel = "HOST:PORT",
      description =
          "Also serve E2B's envd API (Connect over HTTP/1.1, token in X-Access-Token) here, on the"
              + " same processes and files, for the official E2B SDKs.")
  String envdListen;

  @Option(
      names = "--exit-with-stdin",
      description =
          "Exit when standard input reaches end of file: the parent holds it open, so the agent"
              + " cannot outlive a parent that died, even by SIGKILL. While it runs named"
              + " sessions (tagged processes) it stays, until they and every client connection"
              + " are gone, so that a restarted parent finds them again.")
  boolean exitWithStdin;

  @Option(
      names = "--own-pid-namespace",
      description =
          "The agent runs in a PID namespace of its own (bubblewrap): when it stops, it kills"
              + " every process left in it, so that nothing of the sandbox outlives it.")
  boolean ownPidNamespace;

  /** How often an agent whose parent went away checks whether it may stop. */
  private static final Duration ORPHAN_CHECK = Duration.ofSeconds(1);

  /** Entry point; exit status 2 for bad arguments, 1 when the agent cannot start. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new AgentMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    String token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
    Path absRoot = root == null ? null : root.toAbsolutePath().normalize();
    Path userHome =
        home != null
            ? home.toAbsolutePath()
            : absRoot != null ? absRoot : Path.of(System.getProperty("user.home"));
    AgentConfig config = new AgentConfig(token, absRoot, userHome);
    ListenAddress address = ListenAddress.parse(listen);
    InetSocketAddress envdAddress = null;
    if (envdListen != null) {
      // Checked before anything listens: a bad value must not leave a half-started agent.
      if (!(ListenAddress.parse(envdListen) instanceof ListenAddress.Tcp envdTcp)) {
        throw new CommandLine.ParameterException(
            new CommandLine(this), "--envd-listen takes HOST:PORT (the SDKs speak HTTP over TCP)");
      }
      envdAddress = (InetSocketAddress) envdTcp.toSocketAddress();
    }
    AgentServer server = AgentServer.listen(address, config);
    String envdWhere = null;
    if (envdAddress != null) {
      try {
        envdWhere = envdAddress.getHostString() + ":" + server.serveEnvd(envdAddress);
      } catch (java.io.IOException e) {
        server.close();
        throw e;
      }
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  if (ownPidNamespace) {
                    ProcessServiceImpl.killRestOfPidNamespace();
                  }
                },
                "agent-shutdown"));
    String where =
        address instanceof ListenAddress.Tcp tcp ? tcp.host() + ":" + server.port() : listen;
    // Printed on stdout so that whoever started the agent on port 0 learns the port.
    System.out.println("listening " + where);
    if (envdWhere != null) {
      // A second line, after the first that existing callers read.
      System.out.println("envd listening " + envdWhere);
    }
    System.out.flush();
    log.info("agent listening on {} root={} home={}", where, absRoot, userHome);
    if (exitWithStdin) {
      Thread watcher = new Thread(() -> exitAtEof(server), "agent-parent-watch");
      watcher.setDaemon(true);
      watcher.start();
    }
    server.awaitTermination();
    return 0;
  }

  private static void exitAtEof(AgentServer server) {
    try {
      byte[] sink = new byte[256];
      while (System.in.read(sink) >= 0) {
        // The parent never writes; anything read is ignored.
      }
    } catch (java.io.IOException e) {
      // A broken pipe means the parent is gone, the same as EOF.
    }
    if (!server.mayStopOrphaned()) {
      log.info("parent went away; staying up for its named sessions");
      try {
        // The parent's own connection closes with it, a moment after its pipe does.
        do {
          Thread.sleep(ORPHAN_CHECK.toMillis());
        } while (!server.mayStopOrphaned());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    log.info("parent went away; stopping");
    server.close();
    System.exit(0);
  }
}
