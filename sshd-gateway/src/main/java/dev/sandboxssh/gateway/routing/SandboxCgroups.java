package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The cgroups that hold local sandboxes' limits: one per sandbox, below a parent named after this
 * gateway's pid (sandbox-ssh-PID-N), below the gateway's own cgroup (so that a delegated subtree or
 * a container's cgroup namespace is enough). cgroup v2 where it is the only hierarchy, else the v1
 * {@code pids}, {@code memory} and {@code cpu} controllers, as on hosts that still mount v1.
 */
final class SandboxCgroups {
  private static final Path MOUNT = Path.of("/sys/fs/cgroup");
  private static final long CFS_PERIOD_US = 100_000;
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  private final boolean v2;

  /** Controller name to the directory of this gateway's parent cgroup in it. */
  private final Map<String, Path> parents;

  private SandboxCgroups(boolean v2, Map<String, Path> parents) {
    this.v2 = v2;
    this.parents = parents;
  }

  /**
   * Creates this gateway's parent cgroups, or says in one phrase why it cannot.
   *
   * @return the cgroups, or empty with the reason in {@code why[0]}
   */
  static Optional<SandboxCgroups> create(String[] why) {
    try {
      String self = Files.readString(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8);
      // One parent per launcher: two gateways in one JVM (tests) may both have a sandbox "demo".
      String name =
          "sandbox-ssh-" + ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet();
      Map<String, Path> parents = new LinkedHashMap<>();
      boolean v2 = Files.exists(MOUNT.resolve("cgroup.controllers"));
      if (v2) {
        Path own = MOUNT.resolve(ownPath(self, "").substring(1));
        Path parent = own.resolve(name);
        Files.createDirectories(parent);
        // A child gets only the controllers its parent enables for its subtree, and v2 lets a
        // cgroup that holds processes (ours) enable none: the operator must delegate them.
        String controllers = Files.readString(parent.resolve("cgroup.controllers")).trim();
        for (String c : List.of("pids", "memory", "cpu")) {
          if (!(" " + controllers + " ").contains(" " + c + " ")) {
            removeTree(parent);
            why[0] =
                "cgroup v2 controller '"
                    + c
                    + "' is not enabled in "
                    + own.resolve("cgroup.subtree_control");
            return Optional.empty();
          }
        }
        Files.writeString(parent.resolve("cgroup.subtree_control"), "+pids +memory +cpu");
        parents.put("", parent);
      } else {
        for (String c : List.of("pids", "memory", "cpu")) {
          Path mount = MOUNT.resolve(c);
          if (!Files.isDirectory(mount)) {
            why[0] = "no cgroup v1 '" + c + "' controller mounted at " + mount;
            return Optional.empty();
          }
          Path parent = mount.resolve(ownPath(self, c).substring(1)).resolve(name);
          Files.createDirectories(parent);
          parents.put(c, parent);
        }
      }
      cleanStale(parents.values());
      return Optional.of(new SandboxCgroups(v2, parents));
    } catch (IOException | RuntimeException e) {
      why[0] = "cannot create cgroups under " + MOUNT + ": " + e.getMessage();
      return Optional.empty();
    }
  }

  /** The cgroup path of this process in {@code controller} ("" for v2), from /proc/self/cgroup. */
  private static String ownPath(String procSelfCgroup, String controller) {
    for (String line : procSelfCgroup.split("\n")) {
      String[] parts = line.split(":", 3);
      if (parts.length == 3 && List.of(parts[1].split(",")).contains(controller)) {
        return parts[2].endsWith("/") ? parts[2] : parts[2] + "/";
      }
    }
    throw new IllegalStateException("no '" + controller + "' line in /proc/self/cgroup");
  }

  /** Removes the empty parents of gateways that are gone (a SIGKILL leaves them behind). */
  private static void cleanStale(Iterable<Path> parents) {
    for (Path parent : parents) {
      try (var siblings = Files.list(parent.getParent())) {
        siblings
            .filter(p -> p.getFileName().toString().startsWith("sandbox-ssh-"))
            .filter(p -> !p.equals(parent))
            .filter(p -> !alive(p.getFileName().toString().split("-")[2]))
            .forEach(SandboxCgroups::removeTree);
      } catch (IOException e) {
        // Best effort: a stale empty cgroup costs nothing but a directory.
      }
    }
  }

  private static boolean alive(String pid) {
    try {
      return ProcessHandle.of(Long.parseLong(pid)).isPresent();
    } catch (NumberFormatException e) {
      return true;
    }
  }

  private static void removeTree(Path cgroup) {
    try (var children = Files.list(cgroup)) {
      children.filter(Files::isDirectory).forEach(SandboxCgroups::removeTree);
    } catch (IOException e) {
      return;
    }
    try {
      Files.deleteIfExists(cgroup);
    } catch (IOException e) {
      // Still has processes: they will die with their namespace; the next start cleans up.
    }
  }

  /** "cgroup v2" or "cgroup v1". */
  String describe() {
    return v2 ? "cgroup v2" : "cgroup v1";
  }

  /** Creates (or reuses) sandbox {@code id}'s cgroup with these limits. */
  Sandbox forSandbox(String id, GatewayConfig.SandboxLimits limits) throws IOException {
    Map<String, Path> dirs = new LinkedHashMap<>();
    for (Map.Entry<String, Path> e : parents.entrySet()) {
      Path dir = e.getValue().resolve(id);
      Files.createDirectories(dir);
      dirs.put(e.getKey(), dir);
    }
    Sandbox cgroup = new Sandbox(id, dirs, limits);
    cgroup.apply();
    return cgroup;
  }

  /** Removes every sandbox cgroup and the parents; called when the gateway stops. */
  void close() {
    parents.values().forEach(SandboxCgroups::removeTree);
  }

  /** One sandbox's cgroup (one directory per v1 controller, or one v2 directory). */
  final class Sandbox {
    private final String id;
    private final Map<String, Path> dirs;
    private final GatewayConfig.SandboxLimits limits;
    private long seenPidsMax;
    private long seenOomKills;

    private Sandbox(String id, Map<String, Path> dirs, GatewayConfig.SandboxLimits limits) {
      this.id = id;
      this.dirs = dirs;
      this.limits = limits;
    }

    private void apply() throws IOException {
      String pids = limits.maxProcesses() == 0 ? "max" : Integer.toString(limits.maxProcesses());
      long quota = Math.round(limits.cpus() * CFS_PERIOD_US);
      if (v2) {
        Path dir = dirs.get("");
        write(dir.resolve("pids.max"), pids);
        write(dir.resolve("memory.max"), memory("max"));
        write(dir.resolve("memory.swap.max"), limits.memory() == 0 ? "max" : "0", true);
        write(dir.resolve("cpu.max"), (quota == 0 ? "max" : quota) + " " + CFS_PERIOD_US);
      } else {
        write(dirs.get("pids").resolve("pids.max"), pids);
        Path memory = dirs.get("memory");
        // Without memsw, a v1 memory cgroup with swap would page out instead of killing the hog.
        // The kernel wants memsw >= limit at every step, so raise memsw first, lower it last.
        try {
          write(memory.resolve("memory.memsw.limit_in_bytes"), memory("-1"), true);
        } catch (IOException lowerFirst) {
          // Lowering below the current limit: set the limit first, then memsw below.
        }
        write(memory.resolve("memory.limit_in_bytes"), memory("-1"));
        write(memory.resolve("memory.memsw.limit_in_bytes"), memory("-1"), true);
        Path cpu = dirs.get("cpu");
        write(cpu.resolve("cpu.cfs_period_us"), Long.toString(CFS_PERIOD_US));
        write(cpu.resolve("cpu.cfs_quota_us"), quota == 0 ? "-1" : Long.toString(quota));
      }
      seenPidsMax = counter(pidsEvents(), "max");
      seenOomKills = counter(memoryEvents(), "oom_kill");
    }

    private String memory(String unlimited) {
      return limits.memory() == 0 ? unlimited : Long.toString(limits.memory());
    }

    /** The {@code cgroup.procs} files a process writes its pid to, to join this cgroup. */
    List<Path> procsFiles() {
      List<Path> files = new ArrayList<>();
      for (Path dir : dirs.values()) {
        files.add(dir.resolve("cgroup.procs"));
      }
      return files;
    }

    /**
     * What limits were hit since the last call, one phrase each ("process limit (64) reached 3
     * times", "memory limit (256 MiB) reached: 1 process killed").
     */
    List<String> newLimitEvents() {
      List<String> events = new ArrayList<>();
      long pidsMax = counter(pidsEvents(), "max");
      if (pidsMax > seenPidsMax) {
        events.add(
            String.format(
                Locale.ROOT,
                "process limit (%d) reached: %d fork(s) refused",
                limits.maxProcesses(),
                pidsMax - seenPidsMax));
        seenPidsMax = pidsMax;
      }
      long kills = counter(memoryEvents(), "oom_kill");
      if (kills > seenOomKills) {
        events.add(
            String.format(
                Locale.ROOT,
                "memory limit (%d MiB) reached: %d process(es) killed",
                limits.memory() >> 20,
                kills - seenOomKills));
        seenOomKills = kills;
      }
      return events;
    }

    private Path pidsEvents() {
      return (v2 ? dirs.get("") : dirs.get("pids")).resolve("pids.events");
    }

    private Path memoryEvents() {
      return v2
          ? dirs.get("").resolve("memory.events")
          : dirs.get("memory").resolve("memory.oom_control");
    }

    /** Removes this sandbox's cgroup once its processes are gone. */
    void remove() {
      dirs.values().forEach(SandboxCgroups::removeTree);
    }

    @Override
    public String toString() {
      return id + " in " + describe();
    }
  }

  /** A {@code key value} counter of a cgroup events file, 0 when absent or unreadable. */
  private static long counter(Path file, String key) {
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String[] kv = line.trim().split("\\s+");
        if (kv.length == 2 && kv[0].equals(key)) {
          return Long.parseLong(kv[1]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // The cgroup went away with its sandbox.
    }
    return 0;
  }

  private static void write(Path file, String value) throws IOException {
    write(file, value, false);
  }

  private static void write(Path file, String value, boolean optional) throws IOException {
    if (optional && !Files.exists(file)) {
      return;
    }
    Files.writeString(file, value, StandardCharsets.US_ASCII);
  }
}
