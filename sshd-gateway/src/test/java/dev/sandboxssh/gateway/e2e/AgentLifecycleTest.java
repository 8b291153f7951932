package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged gateway as a separate process, as the README runs it: agents start on the first
 * session, stop when idle, and never outlive a gateway killed with SIGKILL unless they hold named
 * sessions, which the next gateway takes over.
 */
@Tag("e2e")
class AgentLifecycleTest {
  private static final String SLEEPER = "agent-lifecycle-sleeper";

  @TempDir Path dir;
  private Process gateway;
  private Supplier<String> gatewayLog = () -> "";

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.destroyForcibly();
    }
  }

  @Test
  void idleAgentsStopAndAKilledGatewayLeavesNoAgentBehind() throws Exception {
    Path data = dir.resolve("data");
    Path key = ownerWithSandboxes(data, "carol", "one", "two");
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(
        config, "local:\n  idle-timeout: 2s\n  startup-cache: false\n  spare-agents: 0\n");

    int port = startGateway(data, config);
    OpenSsh ssh = new OpenSsh("127.0.0.1", port, key, dir.resolve("known_hosts"));

    OpenSsh.Result first = ssh.ssh("one", "echo up");
    assertThat(first.stdout()).as(first.stderr()).isEqualTo("up\n");
    assertThat(agentsOf(gateway)).as("processes of the agent of sandbox one").isNotEmpty();
    waitUntil(() -> agentsOf(gateway).isEmpty(), "the idle agent to stop");

    // A long session keeps an agent busy; then the gateway dies without a chance to clean up.
    // Named for this test alone: other tests' (and other modules') "sleep 300" may still run.
    Process longSession = OpenSsh.start(ssh.sshCommand("two", "exec -a " + SLEEPER + " sleep 300"));
    try {
      waitUntil(
          () -> {
            List<String> lines = agentsOf(gateway).stream().map(p -> commandLine(p.pid())).toList();
            return lines.stream().anyMatch(c -> c.contains("AgentMain"))
                && lines.stream().anyMatch(c -> c.contains("slirp4netns"));
          },
          "the agent of sandbox two and its network helper to start");
      // The client's own command line names the command too, and it may outlast the gateway by
      // a moment: only the sandbox's processes count.
      List<Long> client =
          Stream.concat(Stream.of(longSession.toHandle()), longSession.toHandle().descendants())
              .map(ProcessHandle::pid)
              .toList();
      waitUntil(
          () -> processesMatching(SLEEPER).stream().anyMatch(pid -> !client.contains(pid)),
          "the sleeper to run in the sandbox");
      List<ProcessHandle> started = agentsOf(gateway);
      gateway.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      // Orphans are reparented, so the pids seen while the gateway lived are what to watch.
      waitUntil(
          () -> started.stream().noneMatch(ProcessHandle::isAlive),
          "agents and their network helpers to exit with their gateway");
      // A failure names the processes left, with their parents and pid namespaces.
      Eventually.until(
          () -> describe(processesMatching(SLEEPER)) + "\n" + gatewayLog.get(),
          Timeouts.EVENTUALLY,
          () -> processesMatching(SLEEPER).stream().allMatch(client::contains),
          "the sandbox's processes to die (client's: " + client + ")");
    } finally {
      longSession.destroyForcibly();
    }
  }

  @Test
  void anAgentWithANamedSessionOutlivesAKilledGatewayAndTheNextOneTakesItOver() throws Exception {
    Path data = dir.resolve("data");
    Path key = ownerWithSandboxes(data, "erin", "kept");
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, "local:\n  startup-cache: false\n  spare-agents: 0\n");
    int port = startGateway(data, config);
    OpenSsh ssh = new OpenSsh("127.0.0.1", port, key, dir.resolve("known_hosts"));
    try (SshTerminal session = SshTerminal.open(ssh, "kept+work")) {
      session.type("export MARK=kept-$((3+4))\n").type("echo ready-$((1+1))\n").await("ready-2");
      session.kill();
    }
    List<ProcessHandle> agents = agentsOf(gateway);
    assertThat(agents).isNotEmpty();

    gateway.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    // The agent stays for its session: its parent went, and nothing else ended it.
    Thread.sleep(2000);
    assertThat(agents.stream().filter(p -> commandLine(p.pid()).contains("AgentMain")))
        .as("the agent outlives the killed gateway")
        .anyMatch(ProcessHandle::isAlive);

    int again = startGateway(data, config);
    OpenSsh next = new OpenSsh("127.0.0.1", again, key, dir.resolve("known_hosts"));
    try (SshTerminal session = SshTerminal.open(next, "kept+work")) {
      session.type("echo \"mark=$MARK\"\n").await("mark=kept-7");
      session.type("exit\n");
      assertThat(session.awaitExit(Timeouts.COMMAND)).isZero();
    }
    OpenSsh.Result plain = next.ssh("kept", "echo plain");
    assertThat(plain.stdout()).as(plain.stderr()).isEqualTo("plain\n");

    // Its session gone, the taken-over agent ends with this gateway like any other.
    List<ProcessHandle> adopted = agentsOf(gateway);
    gateway.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    waitUntil(
        () ->
            agents.stream().noneMatch(ProcessHandle::isAlive)
                && adopted.stream().noneMatch(ProcessHandle::isAlive),
        "the agent to stop once neither its session nor a gateway holds it");
  }

  @Test
  void aColdAgentMapsTheStartUpCacheTheGatewayMadeAtStart() throws Exception {
    Path data = dir.resolve("data");
    Path key = ownerWithSandboxes(data, "dave");
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, "local:\n  startup-cache: true\n  spare-agents: 0\n");
    int port = startGateway(data, config);
    Path cacheDir = data.resolve("run/.aot");
    Eventually.until(
        "the training run to leave one cache in " + cacheDir,
        Timeouts.TRANSFER,
        () -> cacheFiles(cacheDir).size() == 1);
    Path cache = cacheFiles(cacheDir).get(0);
    assertThat(Files.getPosixFilePermissions(cache))
        .as("read-only for everyone, the sandboxes included")
        .allMatch(p -> p.name().endsWith("_READ"));

    // A sandbox made after the cache: its agent's first start is cold.
    assertThat(
            admin(
                "sandbox",
                "create",
                "--owner",
                "dave",
                "--id",
                "cold",
                "--data-dir",
                data.toString()))
        .isZero();
    OpenSsh ssh = new OpenSsh("127.0.0.1", port, key, dir.resolve("known_hosts"));
    OpenSsh.Result first = ssh.ssh("cold", "echo up");
    assertThat(first.stdout()).as(first.stderr()).isEqualTo("up\n");

    List<ProcessHandle> jvms =
        agentsOf(gateway).stream().filter(p -> commandLine(p.pid()).contains("AgentMain")).toList();
    assertThat(jvms).as("the agent JVM of sandbox cold").isNotEmpty();
    String java = commandLine(jvms.get(jvms.size() - 1).pid());
    assertThat(java).contains("-XX:AOTCache=/opt/sandbox-agent/agent.aot");
    // Mapped, not only named: the JVM accepted the cache rather than warning and starting cold.
    String maps =
        Files.readString(Path.of("/proc", Long.toString(jvms.get(jvms.size() - 1).pid()), "maps"));
    assertThat(maps).contains("/opt/sandbox-agent/agent.aot");
  }

  @Test
  void aSpareAgentEndsWithAKilledGatewayAndTheNextRemovesWhatItLeft() throws Exception {
    Path data = dir.resolve("data");
    Path key = ownerWithSandboxes(data, "frank", "fresh");
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, "local:\n  startup-cache: false\n  spare-agents: 1\n");
    startGateway(data, config);
    waitUntil(() -> spares(data).size() == 1, "a spare agent to listen");
    Path left = spares(data).get(0);
    Path leftHome = data.resolve("sandboxes").resolve(left.getFileName());
    List<ProcessHandle> spare = agentsOf(gateway);
    assertThat(spare).extracting(p -> commandLine(p.pid())).anyMatch(c -> c.contains("AgentMain"));

    // Its binds for idmapped homes: sandboxes/ onto itself (private), the spare's onto itself.
    String sandboxes = data.resolve("sandboxes").toRealPath().toString();
    assertThat(HostMounts.under(data)).contains(sandboxes, leftHome.toRealPath().toString());

    gateway.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    waitUntil(
        () -> spare.stream().noneMatch(ProcessHandle::isAlive),
        "the spare agent to exit with its gateway");
    assertThat(leftHome).isDirectory();

    // The next gateway keeps no spares, but still clears what the last one left: each left
    // directory would hold a uid of the range.
    Files.writeString(config, "local:\n  startup-cache: false\n  spare-agents: 0\n");
    int port = startGateway(data, config);
    waitUntil(
        () -> !Files.exists(left) && !Files.exists(leftHome),
        "the next gateway to remove the spare's directories left behind");
    assertThat(spares(data)).isEmpty();
    // The bind of sandboxes/ goes last, after the directories.
    Eventually.until(
        () -> mountsUnder(data) + "\n" + gatewayLog.get(),
        Timeouts.EVENTUALLY,
        () -> mountsUnder(data).isEmpty(),
        "the killed gateway's binds to be taken down");
    OpenSsh ssh = new OpenSsh("127.0.0.1", port, key, dir.resolve("known_hosts"));
    OpenSsh.Result named = ssh.ssh("fresh", "hostname");
    assertThat(named.stdout()).as(named.stderr()).isEqualTo("fresh\n");
  }

  private static List<String> mountsUnder(Path data) {
    try {
      return HostMounts.under(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The run dirs of spare agents that listen on their socket. */
  private static List<Path> spares(Path data) {
    try (Stream<Path> dirs = Files.list(data.resolve("run"))) {
      return dirs.filter(d -> d.getFileName().toString().startsWith(".spare-"))
          .filter(d -> Files.exists(d.resolve("agent").resolve("agent.sock")))
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static List<Path> cacheFiles(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().endsWith(".aot")).toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private int startGateway(Path data, Path config) throws Exception {
    PackagedGateway.Serving serving = PackagedGateway.serve(dir, data, config);
    gateway = serving.process();
    gatewayLog = serving.logTail();
    return serving.port();
  }

  /** Adds an owner with a fresh key and local sandboxes through the admin commands; the key. */
  private Path ownerWithSandboxes(Path data, String owner, String... ids) throws Exception {
    Path key = GatewayFixture.newKey(dir, owner);
    assertThat(admin("owner", "add", owner, "--key", key + ".pub", "--data-dir", data.toString()))
        .isZero();
    for (String id : ids) {
      assertThat(
              admin(
                  "sandbox", "create", "--owner", owner, "--id", id, "--data-dir", data.toString()))
          .isZero();
    }
    return key;
  }

  private int admin(String... args) {
    return PackagedGateway.admin(args);
  }

  /** The agents a gateway process started: bwrap, the agent JVMs inside, slirp4netns. */
  private static List<ProcessHandle> agentsOf(Process gateway) {
    return gateway
        .descendants()
        .filter(
            p ->
                commandLine(p.pid()).contains("AgentMain")
                    || commandLine(p.pid()).contains("bwrap")
                    || commandLine(p.pid()).contains("slirp4netns"))
        .toList();
  }

  private static List<Long> processesMatching(String needle) {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .map(p -> p.getFileName().toString())
          .filter(name -> name.chars().allMatch(Character::isDigit))
          .map(Long::parseLong)
          .filter(pid -> pid != ProcessHandle.current().pid())
          .filter(pid -> commandLine(pid).contains(needle))
          .toList();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Each process's pid, parent, pids in its namespaces and command line, one per line. */
  private static String describe(List<Long> pids) {
    StringBuilder out = new StringBuilder();
    for (long pid : pids) {
      String parent = "?";
      String nsPids = "?";
      try {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
          if (line.startsWith("PPid:")) {
            parent = line.substring(5).strip();
          } else if (line.startsWith("NSpid:")) {
            nsPids = line.substring(6).strip();
          }
        }
      } catch (IOException e) {
        // Gone since it was listed.
      }
      out.append(
          String.format(
              "pid %d, parent %s, ns pids %s: %s%n", pid, parent, nsPids, commandLine(pid)));
    }
    return out.toString();
  }

  private static String commandLine(long pid) {
    try {
      return new String(
              Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
              StandardCharsets.UTF_8)
          .replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  /** Waits for {@code condition}; a failure shows the gateway's last log lines. */
  private void waitUntil(java.util.function.BooleanSupplier condition, String what) {
    Eventually.until(gatewayLog, Timeouts.EVENTUALLY, condition, what);
  }
}
