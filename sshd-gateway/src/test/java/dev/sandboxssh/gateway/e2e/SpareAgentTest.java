package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.routing.LocalSandboxProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spare agents (local.spare-agents): the first login to a new sandbox takes the agent started
 * ahead, which then is that sandbox's in every way a user can see; a sandbox that holds files
 * starts an agent of its own; the gateway starts the next spare, and removes them all when it
 * stops.
 */
@Tag("e2e")
class SpareAgentTest {
  @TempDir Path dir;

  @Test
  void aNewSandboxTakesTheSpareAndOneWithFilesStartsItsOwn() throws Exception {
    // Deep enough, wherever the checkout is, that a spare's socket path passes the 107 bytes of
    // sun_path: the gateway connects through a handle on the socket, not by its path.
    Path deep = Files.createDirectories(dir.resolve("a-long-data-dir-".repeat(4)));
    Path sandboxes;
    try (LogCapture log = LogCapture.of(LocalSandboxProvider.class.getName());
        GatewayFixture gateway =
            GatewayFixture.start(deep, c -> c.withLocal(c.local().withSpareAgents(1)))) {
      LocalSandboxProvider local = gateway.app().localProvider();
      sandboxes = gateway.sandboxDir(GatewayFixture.SANDBOX).getParent();
      // A spare that never comes says why in the failure: the provider's log.
      Supplier<String> said = () -> String.join("\n", log.messages());
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "a spare agent to be ready");
      Path spare = onlySpare(sandboxes);
      Path spareSocket =
          sandboxes.resolveSibling("run").resolve(spare.getFileName()).resolve("agent/agent.sock");
      assertThat(spareSocket.toString().length()).isGreaterThan(107);
      int spareUid = uid(spare);

      // demo has never run: its first login takes the spare, renamed to it.
      OpenSsh.Result fresh =
          gateway
              .ssh()
              .ssh(
                  GatewayFixture.SANDBOX,
                  "hostname; cat /etc/hostname; grep -c ' demo$' /etc/hosts; id -un; pwd;"
                      + " echo kept > ~/mark");
      assertThat(fresh.stdout()).as(fresh.stderr()).isEqualTo("demo\ndemo\n1\nuser\n/home/user\n");
      assertThat(spare).doesNotExist();
      Path demo = gateway.sandboxDir(GatewayFixture.SANDBOX);
      assertThat(demo.resolve("mark")).hasContent("kept");
      assertThat(uid(demo)).isEqualTo(spareUid);
      assertThat(bwrapOf(local, GatewayFixture.SANDBOX))
          .as("the agent demo runs is the one started as " + spare.getFileName())
          .contains("--hostname " + spare.getFileName() + " ");

      // The next spare: another directory, another uid.
      Eventually.until(
          said, Timeouts.EVENTUALLY, () -> local.readySpares() == 1, "the next spare to be ready");
      Path next = onlySpare(sandboxes);
      assertThat(uid(next)).isNotEqualTo(spareUid);

      // A sandbox that already holds files keeps them, and its agent starts for it alone.
      gateway.addSandbox("used", GatewayFixture.OWNER);
      Files.createDirectory(gateway.sandboxDir("used"));
      Files.writeString(gateway.sandboxDir("used").resolve("notes"), "mine\n");
      OpenSsh.Result used = gateway.ssh().ssh("used", "hostname; cat notes; ls -A ~");
      assertThat(used.stdout()).as(used.stderr()).isEqualTo("used\nmine\nnotes\n");
      assertThat(bwrapOf(local, "used")).contains("--hostname used ");
      assertThat(next).as("the spare is still there for the next new sandbox").isDirectory();
      assertThat(local.readySpares()).isEqualTo(1);
      assertThat(List.of(uid(gateway.sandboxDir("used")), uid(next), spareUid))
          .as("each sandbox and the spare have uids of their own")
          .doesNotHaveDuplicates();

      // The renamed agent serves demo as any agent does: a second login sees its file.
      OpenSsh.Result again = gateway.ssh().ssh(GatewayFixture.SANDBOX, "cat mark");
      assertThat(again.stdout()).as(again.stderr()).isEqualTo("kept\n");
    }
    assertThat(spares(sandboxes)).as("spares removed with the gateway").isEmpty();
  }

  private static Path onlySpare(Path sandboxes) {
    List<Path> found = spares(sandboxes);
    assertThat(found).as("spare directories in " + sandboxes).hasSize(1);
    return found.get(0);
  }

  private static List<Path> spares(Path sandboxes) {
    try (Stream<Path> dirs = Files.list(sandboxes)) {
      return dirs.filter(d -> d.getFileName().toString().startsWith(".spare-")).toList();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static int uid(Path path) throws IOException {
    return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  /** The command line of the bwrap process the gateway launched for sandbox {@code id}. */
  private static String bwrapOf(LocalSandboxProvider local, String id) throws IOException {
    long pid = local.launchedPid(id).orElseThrow();
    String argv =
        new String(
            Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
            StandardCharsets.UTF_8);
    // The launch chain (unshare, bash, setpriv) ends in an exec of bwrap in the same process.
    assertThat(argv).contains("bwrap");
    return argv.replace('\0', ' ');
  }
}
