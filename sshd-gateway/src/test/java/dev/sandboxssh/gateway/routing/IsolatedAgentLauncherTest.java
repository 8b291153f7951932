package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the launcher says and does when a part of the configured isolation is missing. */
class IsolatedAgentLauncherTest {
  @TempDir Path dir;

  private GatewayConfig.Local local(GatewayConfig.Isolation isolation) {
    return GatewayConfig.defaults().local().withIsolation(isolation);
  }

  @Test
  void noBubblewrapIsNamedAsNotInstalled() {
    try (IsolatedAgentLauncher launcher =
        IsolatedAgentLauncher.probe(local(GatewayConfig.Isolation.BEST_EFFORT), dir.toString())) {
      assertThat(launcher.missing())
          .contains(
              "no namespaces: bubblewrap (bwrap) is not installed; sandbox processes see the host")
          .anyMatch(line -> line.startsWith("no network namespace:"));
      assertThat(launcher.confined()).isFalse();
      // An unconfined agent knows its sandbox by a host path: no spare can become another's.
      assertThat(launcher.reassigns()).isFalse();
    }
  }

  @Test
  void aBubblewrapThatCannotCreateNamespacesIsNamedWithItsReasonNotAsMissing() throws Exception {
    // As in a container started with Docker's default flags: bwrap is there but fails.
    fakeTool(
        "bwrap",
        "echo 'bwrap: No permissions to creating new namespace, likely because the kernel does"
            + " not allow non-privileged user namespaces.' >&2; exit 1");
    try (IsolatedAgentLauncher launcher =
        IsolatedAgentLauncher.probe(local(GatewayConfig.Isolation.BEST_EFFORT), dir.toString())) {
      assertThat(launcher.missing())
          .anyMatch(
              line ->
                  line.startsWith("no namespaces: " + dir.resolve("bwrap") + " cannot create them")
                      && line.contains("No permissions to creating new namespace"))
          .noneMatch(line -> line.contains("not installed"));
    }
  }

  @Test
  void requiredIsolationRefusesToStartASandboxWithLess() throws Exception {
    try (IsolatedAgentLauncher launcher =
        IsolatedAgentLauncher.probe(local(GatewayConfig.Isolation.REQUIRED), dir.toString())) {
      LocalAgentSpec spec = demoSpec();
      assertThatThrownBy(() -> launcher.launch(spec))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith("local.isolation is required, but this gateway cannot give it:")
          .hasMessageContaining("bubblewrap (bwrap) is not installed");
      assertThat(spec.runDir().resolve("agent")).doesNotExist();
    }
  }

  @Test
  void isolationOffSaysSoOnce() {
    try (IsolatedAgentLauncher launcher =
        IsolatedAgentLauncher.probe(local(GatewayConfig.Isolation.OFF), dir.toString())) {
      assertThat(launcher.missing())
          .hasSize(1)
          .allMatch(l -> l.startsWith("local.isolation is off"));
      assertThat(launcher.reassigns()).isFalse();
    }
  }

  /**
   * The network helper sets up while the gateway probes the new agent: {@code listening} starts it
   * and returns, and only the returned step waits for it. A listening() that waited would never
   * return here, as the helper waits for the test.
   */
  @Test
  @Tag("e2e")
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void listeningStartsTheNetworkHelperAndOnlyTheReturnedStepWaitsForIt() throws Exception {
    assertThat(ProcessHandle.current().info().user()).as("runs as root").hasValue("root");
    Path bwrap = Path.of("/usr/bin/bwrap");
    assertThat(bwrap).as("bubblewrap is installed").isExecutable();
    Path go = dir.resolve("go");
    Path started = dir.resolve("slirp-started");
    fakeTool(
        "slirp4netns",
        "touch " + started + "; while [ ! -e " + go + " ]; do sleep 0.05; done; echo 1");
    Files.createSymbolicLink(dir.resolve("bwrap"), bwrap);
    try (IsolatedAgentLauncher launcher =
        IsolatedAgentLauncher.probe(local(GatewayConfig.Isolation.BEST_EFFORT), dir.toString())) {
      assertThat(launcher.confined()).isTrue();
      LocalAgentSpec spec = demoSpec();
      Files.writeString(spec.tokenFile(), "t0ken");
      Process agent = launcher.launch(spec);
      try {
        assertThat(AgentOutput.firstLine(agent, "agent-stdout-demo").get(60, TimeUnit.SECONDS))
            .startsWith("listening");

        AgentLauncher.Pending network = launcher.listening(spec, agent);
        // Returned, with the helper started and not ready: it cannot be before "go".
        while (!Files.exists(started)) {
          Thread.sleep(10);
        }
        Files.createFile(go);
        network.finish();
      } finally {
        agent.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        launcher.stopped(spec);
      }
    }
  }

  /** Sandbox demo's directories under {@link #dir}, made. */
  private LocalAgentSpec demoSpec() throws IOException {
    Path run = Files.createDirectories(dir.resolve("run/demo"));
    return new LocalAgentSpec(
        "demo",
        Files.createDirectories(dir.resolve("sandboxes/demo")),
        run,
        run.resolve("agent/agent.sock"),
        run.resolve("token"));
  }

  private void fakeTool(String name, String body) throws IOException {
    // A root gateway probes bwrap as a sandbox uid, which must be able to run it.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path tool = dir.resolve(name);
    Files.writeString(tool, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
