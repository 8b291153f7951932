package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts each agent inside its own bubblewrap namespaces (user, PID, IPC, UTS, mount).
 *
 * <p>What a sandbox sees: the host's system directories read-only, its own directory as {@code
 * /home/user} (its only writable host path), a private {@code /tmp}, and nothing else of the host:
 * not the gateway's data or keys, not other sandboxes, not {@code /root}. The agent runs inside, so
 * SFTP and scp see exactly what the sandbox's processes see. {@code --die-with-parent} and a new
 * PID namespace mean every process of the sandbox dies with its agent.
 */
public final class BwrapAgentLauncher implements AgentLauncher {
  /** Where the sandbox directory appears inside: HOME of the sandbox user. */
  static final Path INNER_HOME = Path.of("/home/user");

  private static final Path INNER_RUN = Path.of("/run/sandbox-agent");
  private static final List<String> SYSTEM_DIRS =
      List.of("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc");

  private final String bwrap;
  private final AgentCommand command;

  /** Runs agents under {@code bwrap} with {@code javaCommand} (this JVM's java when null). */
  public BwrapAgentLauncher(String bwrap, String javaCommand) {
    this.bwrap = bwrap;
    this.command = new AgentCommand(javaCommand);
  }

  /** Finds a bubblewrap on PATH that can create the namespaces we need, or null. */
  public static String probe() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path candidate = Path.of(dir, "bwrap");
      if (Files.isExecutable(candidate) && works(candidate.toString())) {
        return candidate.toString();
      }
    }
    return null;
  }

  private static boolean works(String bwrap) {
    try {
      Process p =
          new ProcessBuilder(
                  bwrap,
                  "--ro-bind",
                  "/",
                  "/",
                  "--unshare-user",
                  "--unshare-pid",
                  "--unshare-ipc",
                  "--die-with-parent",
                  "true")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public Process launch(LocalAgentSpec spec) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(bwrap);
    cmd.addAll(
        List.of(
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--hostname",
            spec.sandboxId(),
            // Threat: a sandbox process injecting keystrokes into the gateway's terminal.
            "--new-session",
            "--die-with-parent"));
    for (String dir : SYSTEM_DIRS) {
      Path p = Path.of(dir);
      if (Files.isSymbolicLink(p)) {
        // Merged-/usr systems: /bin -> usr/bin. Recreate the link rather than binding twice.
        cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), dir));
      } else if (Files.isDirectory(p)) {
        cmd.addAll(List.of("--ro-bind", dir, dir));
      }
    }
    cmd.addAll(
        List.of(
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "--dir",
            "/var/tmp",
            "--bind",
            spec.sandboxDir().toString(),
            INNER_HOME.toString(),
            "--bind",
            spec.runDir().toString(),
            INNER_RUN.toString()));
    // The JVM and the agent's classes, read-only, at the paths the command line names.
    Path javaHome = Path.of(command.java()).toAbsolutePath().getParent().getParent();
    if (!javaHome.startsWith("/usr")) {
      cmd.addAll(List.of("--ro-bind", javaHome.toString(), javaHome.toString()));
    }
    for (String entry : command.classpath()) {
      cmd.addAll(List.of("--ro-bind-try", entry, entry));
    }
    cmd.addAll(
        List.of(
            "--chdir",
            INNER_HOME.toString(),
            "--clearenv",
            "--setenv",
            "HOME",
            INNER_HOME.toString(),
            "--setenv",
            "PATH",
            "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--"));
    List<String> java =
        command.build(
            Path.of("/tmp"),
            INNER_RUN.resolve(spec.socket().getFileName()),
            INNER_RUN.resolve(spec.tokenFile().getFileName()),
            INNER_HOME,
            null);
    cmd.addAll(java);
    return new ProcessBuilder(cmd).start();
  }

  @Override
  public boolean confined() {
    return true;
  }

  @Override
  public String describe() {
    return "bubblewrap (" + bwrap + "): user, PID, IPC, UTS and mount namespaces";
  }
}
