package dev.sandboxssh.agent;

import dev.sandboxssh.agent.process.ProcessServiceImpl;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code sandbox-agent --listen ADDR --token-file FILE [--root DIR]}; see {@link AgentArguments}.
 */
public final class AgentMain {
  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

  /** How often an agent whose parent went away checks whether it may stop. */
  private static final Duration ORPHAN_CHECK = Duration.ofSeconds(1);

  /** Entry point; exit status 2 for bad arguments, 1 when the agent cannot start. */
  public static void main(String[] args) {
    AgentArguments parsed;
    try {
      parsed = AgentArguments.parse(args);
    } catch (AgentArguments.InfoRequested info) {
      System.out.print(info.getMessage());
      System.exit(0);
      return;
    } catch (AgentArguments.UsageException e) {
      System.err.println(e.getMessage());
      System.err.print(AgentArguments.USAGE);
      System.exit(2);
      return;
    }
    int status;
    try {
      status = run(parsed);
    } catch (AgentArguments.UsageException e) {
      System.err.println(e.getMessage());
      status = 2;
    } catch (Exception e) {
      log.error("agent failed to start: {}", e.toString(), e);
      status = 1;
    }
    System.exit(status);
  }

  private static int run(AgentArguments args) throws Exception {
    String token = Files.readString(args.tokenFile(), StandardCharsets.UTF_8).strip();
    Path absRoot = args.root() == null ? null : args.root().toAbsolutePath().normalize();
    Path userHome =
        args.home() != null
            ? args.home().toAbsolutePath()
            : absRoot != null ? absRoot : Path.of(System.getProperty("user.home"));
    AgentConfig config = new AgentConfig(token, absRoot, userHome);
    ListenAddress address = ListenAddress.parse(args.listen());
    InetSocketAddress envdAddress = null;
    if (args.envdListen() != null) {
      // Checked before anything listens: a bad value must not leave a half-started agent.
      if (!(ListenAddress.parse(args.envdListen()) instanceof ListenAddress.Tcp envdTcp)) {
        throw new AgentArguments.UsageException(
            "--envd-listen takes HOST:PORT (the SDKs speak HTTP over TCP)");
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
                  if (args.ownPidNamespace()) {
                    ProcessServiceImpl.killRestOfPidNamespace();
                  }
                },
                "agent-shutdown"));
    String where =
        address instanceof ListenAddress.Tcp tcp ? tcp.host() + ":" + server.port() : args.listen();
    // Printed on stdout so that whoever started the agent on port 0 learns the port.
    System.out.println("listening " + where);
    if (envdWhere != null) {
      // A second line, after the first that existing callers read.
      System.out.println("envd listening " + envdWhere);
    }
    System.out.flush();
    log.info("agent listening on {} root={} home={}", where, absRoot, userHome);
    if (args.exitWithStdin()) {
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
      // A gateway that stops its agent closes the connection a moment after the pipe, often after
      // the agent saw EOF; the line says which of the two keeps it up.
      log.info(
          server.holdsNamedSessions()
              ? "parent went away; staying up for its named sessions"
              : "parent went away; stopping once its last connection closes");
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
