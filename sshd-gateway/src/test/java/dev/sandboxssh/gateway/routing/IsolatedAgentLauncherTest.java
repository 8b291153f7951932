package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
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
      Path run = Files.createDirectories(dir.resolve("run/demo"));
      LocalAgentSpec spec =
          new LocalAgentSpec(
              "demo",
              Files.createDirectories(dir.resolve("sandboxes/demo")),
              run,
              run.resolve("agent/agent.sock"),
              run.resolve("token"));
      assertThatThrownBy(() -> launcher.launch(spec))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith("local.isolation is required, but this gateway cannot give it:")
          .hasMessageContaining("bubblewrap (bwrap) is not installed");
      assertThat(run.resolve("agent")).doesNotExist();
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

  private void fakeTool(String name, String body) throws IOException {
    // A root gateway probes bwrap as a sandbox uid, which must be able to run it.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path tool = dir.resolve(name);
    Files.writeString(tool, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
