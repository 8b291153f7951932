package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.session.ClientPath;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.sshd.client.channel.ChannelExec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that stops reading stops the writer in the sandbox, not the gateway's heap; and the
 * gateway fills no more of a client's window than the path to it needs ({@link ClientPath}).
 */
@Tag("e2e")
class BackpressureTest {
  private static final long GIB = 1L << 30;
  private static final long MIB = 1L << 20;
  private static final String WRITER = "head -c " + GIB + " /dev/zero";

  @TempDir static Path dir;
  static GatewayFixture gateway;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void stalledReaderBlocksTheWriterThenGetsEverything() throws Exception {
    try (MinaClient mina = MinaClient.connect(gateway)) {
      ChannelExec exec = mina.session().createExecChannel(WRITER);
      exec.open().verify(Timeouts.COMMAND);
      InputStream out = exec.getInvertedOut();
      byte[] buffer = new byte[64 * 1024];
      long read = readAtMost(out, buffer, MIB);
      assertThat(read).isEqualTo(MIB);

      // The client reads nothing now; the writer must come to a stop well short of 1 GiB.
      List<ProcessHandle> writers = SandboxProcesses.withCommandLine(WRITER);
      assertThat(writers).hasSize(1);
      long pid = writers.get(0).pid();
      long[] last = {-1};
      Eventually.until(
          () -> "wchar=" + last[0],
          Timeouts.EVENTUALLY,
          () -> {
            long before = SandboxProcesses.bytesWritten(pid);
            pause(Duration.ofMillis(500));
            last[0] = SandboxProcesses.bytesWritten(pid);
            return before == last[0];
          },
          "the writer stops");
      long stalled = last[0];
      assertThat(stalled).isLessThan(64 * MIB);
      for (int i = 0; i < 4; i++) {
        pause(Duration.ofMillis(500));
        assertThat(SandboxProcesses.bytesWritten(pid)).isEqualTo(stalled);
      }

      // Reading again drains all of it.
      for (int n; (n = out.read(buffer)) >= 0; ) {
        read += n;
      }
      assertThat(read).isEqualTo(GIB);
      MinaClient.awaitExit(exec, Timeouts.COMMAND);
      assertThat(exec.getExitStatus()).isZero();
    }
  }

  @Test
  void onLoopbackAChannelFillsOnlyThePartOfTheClientsWindowItsPathNeeds() throws Exception {
    try (MinaClient mina = MinaClient.connect(gateway)) {
      assertFillsHalfTheWindowThenSendsTheRest(mina);
    }
  }

  @Test
  void thePackagedGatewayMeasuresItsPathsToo(@TempDir Path packaged) throws Exception {
    // The packaged jar reads a connection's TCP_INFO only as its manifest opens sun.nio.ch to it.
    Path data = packaged.resolve("data");
    Path key = GatewayFixture.newKey(packaged, "erin");
    String dataDir = data.toString();
    assertThat(
            PackagedGateway.admin(
                "owner", "add", "erin", "--key", key + ".pub", "--data-dir", dataDir))
        .isZero();
    assertThat(
            PackagedGateway.admin(
                "sandbox", "create", "--owner", "erin", "--id", "erins", "--data-dir", dataDir))
        .isZero();
    Path config = packaged.resolve("gateway.yaml");
    Files.writeString(config, "local:\n  startup-cache: false\n  spare-agents: 0\n");
    PackagedGateway.Serving serving = PackagedGateway.serve(packaged, data, config);
    try (MinaClient mina = MinaClient.connect(serving.port(), "erins", key)) {
      assertFillsHalfTheWindowThenSendsTheRest(mina);
    } finally {
      serving.process().destroyForcibly();
    }
  }

  // A writer of 64 MiB to a client that reads nothing at first: on loopback the gateway sends half
  // the client's window and a packet, what such a client needs to reopen it; reading then gets
  // everything.
  private static void assertFillsHalfTheWindowThenSendsTheRest(MinaClient mina) throws Exception {
    ChannelExec exec = mina.session().createExecChannel("head -c " + 64 * MIB + " /dev/zero");
    exec.open().verify(Timeouts.COMMAND);
    InputStream out = exec.getInvertedOut();
    long announced = exec.getLocalWindow().getMaxSize();
    long packet = exec.getLocalWindow().getPacketSize();
    assertThat(announced / 2 + packet).isGreaterThan(ClientPath.MIN_IN_FLIGHT);
    assertThat(MinaClient.receivedOnceStalled(exec)).isEqualTo(announced / 2 + packet);

    byte[] buffer = new byte[64 * 1024];
    long read = 0;
    for (int n; (n = out.read(buffer)) >= 0; ) {
      read += n;
    }
    assertThat(read).isEqualTo(64 * MIB);
  }

  private static long readAtMost(InputStream in, byte[] buffer, long limit) throws IOException {
    long total = 0;
    while (total < limit) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, limit - total));
      if (n < 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
