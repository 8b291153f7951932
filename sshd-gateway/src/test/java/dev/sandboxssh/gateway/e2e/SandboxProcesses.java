package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Processes of local sandboxes as the host sees them (bubblewrap's PID namespace is nested, so host
 * pids work from here), found by command line. Command lines come from /proc/PID/cmdline: {@link
 * ProcessHandle.Info} has none for processes in another mount namespace.
 */
public final class SandboxProcesses {
  private SandboxProcesses() {}

  /** Live processes whose full command line equals {@code commandLine}. */
  public static List<ProcessHandle> withCommandLine(String commandLine) {
    return ProcessHandle.allProcesses().filter(p -> commandLine.equals(commandLine(p))).toList();
  }

  /** Live processes whose command line contains {@code text}. */
  public static List<ProcessHandle> matching(String text) {
    return ProcessHandle.allProcesses().filter(p -> commandLine(p).contains(text)).toList();
  }

  /**
   * The agent JVM of local sandbox {@code id}: the java process under the bubblewrap the gateway
   * started for that sandbox.
   */
  public static Optional<ProcessHandle> agentOf(GatewayFixture gateway, String id) {
    var launched = gateway.app().localProvider().launchedPid(id);
    if (launched.isEmpty()) {
      return Optional.empty();
    }
    return ProcessHandle.of(launched.getAsLong()).stream()
        .flatMap(
            p -> java.util.stream.Stream.concat(java.util.stream.Stream.of(p), p.descendants()))
        .filter(p -> commandLine(p).contains("AgentMain") && !commandLine(p).contains("bwrap"))
        .findFirst();
  }

  /** The arguments of {@code p} joined by spaces, or "" once it is gone. */
  public static String commandLine(ProcessHandle p) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline"));
      return new String(raw, java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' ').strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The bytes a process wrote so far ({@code wchar} of /proc/PID/io). */
  public static long bytesWritten(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "io"))) {
        if (line.startsWith("wchar:")) {
          return Long.parseLong(line.substring("wchar:".length()).strip());
        }
      }
    } catch (IOException e) {
      throw new AssertionError("cannot read /proc/" + pid + "/io", e);
    }
    assertThat(false).as("no wchar in /proc/%d/io", pid).isTrue();
    return -1;
  }
}
