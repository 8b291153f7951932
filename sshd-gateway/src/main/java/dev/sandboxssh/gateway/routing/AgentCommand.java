package dev.sandboxssh.gateway.routing;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code java ... AgentMain} command line of an agent. Agents run from the gateway's own
 * classpath (the shaded gateway jar contains the agent), or from the agent's own jar that the
 * packaged gateway carries ({@link AgentJar}), so there is no second artifact to find.
 */
final class AgentCommand {
  static final String MAIN_CLASS = "dev.sandboxssh.agent.AgentMain";

  /** The agent's SLF4J provider for one plain line per event on stderr. */
  static final String LOG_PROVIDER = "dev.sandboxssh.agent.StderrLogProvider";

  private final String java;
  private final List<String> classpath;

  AgentCommand(String javaCommand) {
    this.java =
        javaCommand != null
            ? javaCommand
            : Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // Absolute, because agents start in another working directory (and, confined, another root).
    this.classpath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .map(entry -> Path.of(entry).toAbsolutePath().toString())
            .toList();
  }

  private AgentCommand(String java, List<String> classpath) {
    this.java = java;
    this.classpath = List.copyOf(classpath);
  }

  /** The same command on another classpath of absolute entries. */
  AgentCommand withClasspath(List<String> classpath) {
    return new AgentCommand(java, classpath);
  }

  /** The library directories the gateway's own JNA searches, or null when it has none. */
  private static final class JnaLibraryPath {
    static final String VALUE = find();

    private static String find() {
      try {
        // Its static initialiser sets the property (asking ldconfig) unless it was given.
        Class.forName("com.sun.jna.NativeLibrary", true, AgentCommand.class.getClassLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        return null;
      }
      String value = System.getProperty("jna.platform.library.path");
      return value == null || value.isEmpty() ? null : value;
    }
  }

  /** The java binary. */
  String java() {
    return java;
  }

  /** The absolute classpath entries, each a jar or a classes directory. */
  List<String> classpath() {
    return classpath;
  }

  /** {@code java <opts> -cp CP AgentMain --listen unix:SOCKET --token-file TOKEN ...}. */
  List<String> build(Path tmpDir, Path socket, Path tokenFile, Path home, Path root) {
    return build(java, classpath, List.of(), tmpDir, socket, tokenFile, home, root);
  }

  /**
   * The same command with the java binary and classpath entries at other paths: where a confined
   * agent sees them.
   */
  static List<String> build(
      String java,
      List<String> classpath,
      List<String> jvmOptions,
      Path tmpDir,
      Path socket,
      Path tokenFile,
      Path home,
      Path root) {
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    // A small, quick-starting JVM: an agent serves one sandbox, and its memory counts against
    // the sandbox's limit. A heap that starts small and gives back what it frees, and (before the
    // pool went, below) one netty arena instead of one per core, took an agent's RSS after 0.9 GB
    // of downloads from 199 MB to 119 MB at the same throughput.
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Xms8m");
    cmd.add("-XX:MinHeapFreeRatio=10");
    cmd.add("-XX:MaxHeapFreeRatio=30");
    // No buffer pool at all, so no arena count to set: a local agent's calls are small (bulk
    // bytes are handed off), so a pool buys it nothing, while even one arena's first buffer took
    // a whole chunk, zeroed as it was allocated: 3.3 MB of every agent's RSS after its first
    // connection (67.9 -> 64.6 MB, standalone agent). gRPC reads the same name for its own
    // allocator.
    cmd.add("-Dio.grpc.netty.shaded.io.netty.allocator.type=unpooled");
    // Netty emits JFR events for its buffer pool when JFR is available; loading the first event
    // class starts JFR's event machinery (metadata, bytecode generation) on the agent's first
    // connection: 70 ms of a cold agent's first answer, for events no one records.
    cmd.add("-Dio.grpc.netty.shaded.io.netty.jfr.enabled=false");
    cmd.add("-Xmx256m");
    cmd.add("-XX:MaxDirectMemorySize=128m");
    // A local agent hands bulk bytes to the gateway (descriptor hand-off) and serves only
    // control calls: C1 alone compiles them well enough, with less memory and warm-up CPU than
    // C2 (idle RSS after a load 96 -> 85 MB).
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:CICompilerCount=1");
    // No hsperfdata file in the sandbox's /tmp, and no shared memory to keep it current.
    cmd.add("-XX:-UsePerfData");
    // The AOT cache (or the JDK's CDS archive) mapped where it was made rather than at a random
    // address: relocating it would write to every page, making it private to each agent, and
    // mapped as made its pages stay shared between all agents through the page cache (14 MB less
    // private memory per agent). Address-space randomisation of that mapping protects nothing
    // here: the sandbox's user, who could attack the agent, can read its memory map anyway.
    cmd.add("-XX:+UnlockDiagnosticVMOptions");
    cmd.add("-XX:ArchiveRelocationMode=0");
    int feature = Runtime.version().feature();
    if (feature >= 25) {
      // 8-byte object headers (JEP 519): a smaller heap for the same objects.
      cmd.add("-XX:+UseCompactObjectHeaders");
    }
    if (feature >= 22) {
      // Gives freed native memory (gRPC's and the JIT's) back every few seconds.
      cmd.add("-XX:TrimNativeHeapInterval=5000");
    }
    if (feature >= 23) {
      // Netty frees direct buffers through sun.misc.Unsafe where it may; refused it, on JDK 24+
      // it links malloc and free through the FFM API at every start, which spins some seventy
      // method-handle classes that no AOT cache keeps (a sixth of a cold agent's start CPU).
      cmd.add("--sun-misc-unsafe-memory-access=allow");
    }
    // JNA otherwise runs "/sbin/ldconfig -p" to learn the library directories when the agent
    // first loads libc, a process spawned inside the first command's start; the gateway's JNA has
    // found them already, and a confined agent sees the same /usr.
    String libraryPath = JnaLibraryPath.VALUE;
    if (libraryPath != null) {
      cmd.add("-Djna.platform.library.path=" + libraryPath);
    }
    // pty4j and JNA unpack native libraries; keep them out of the sandbox user's home.
    cmd.add("-Djava.io.tmpdir=" + tmpDir);
    cmd.add("-Djna.tmpdir=" + tmpDir);
    // The gateway logs the agent's stderr under its own timestamp and the sandbox id. Named
    // outright, the provider is also found without a scan of every jar for SLF4J's services.
    cmd.add("-Dslf4j.provider=" + LOG_PROVIDER);
    // SLF4J otherwise reports that choice on stderr at every start.
    cmd.add("-Dslf4j.internal.verbosity=WARN");
    if (feature >= 21) {
      cmd.add("--enable-native-access=ALL-UNNAMED");
    }
    // The gateway reads the agent's first stdout line ("listening ..."); the JVM's own warnings
    // (an AOT cache that does not match, say) go to stderr, which the gateway logs.
    cmd.add("-Xlog:disable");
    cmd.add("-Xlog:all=warning:stderr");
    // Lets the agent see the descriptor number of a socket or an open file, to hand -L/-R
    // connections and SFTP's files to the gateway (JdkDescriptors).
    cmd.add("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED");
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(String.join(File.pathSeparator, classpath));
    cmd.add(MAIN_CLASS);
    cmd.add("--listen");
    cmd.add("unix:" + socket);
    cmd.add("--token-file");
    cmd.add(tokenFile.toString());
    cmd.add("--home");
    cmd.add(home.toString());
    if (root != null) {
      cmd.add("--root");
      cmd.add(root.toString());
    }
    cmd.add("--exit-with-stdin");
    return cmd;
  }
}
