package dev.sandboxssh.gateway.bridge.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.OpenDescriptors;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The same checks with files open in this process, as the gateway opens a local sandbox's. */
class HandedOffFileSystemTest extends SandboxFileSystemTest {
  @Override
  boolean handOff() {
    return true;
  }

  @Test
  void anOpenFileIsOpenInThisProcess() throws Exception {
    Path file = fs.getPath("here.txt");
    Files.write(file, "bytes".getBytes(StandardCharsets.US_ASCII));
    String real = sandboxDir.resolve("here.txt").toString();
    try (SeekableByteChannel ignored = Files.newByteChannel(file)) {
      assertThat(OpenDescriptors.ofThisProcess()).contains(real);
    }
    // The agent runs in this JVM here too, and closes its copy once the hand-over was sent.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (OpenDescriptors.ofThisProcess().contains(real) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(OpenDescriptors.ofThisProcess()).doesNotContain(real);
  }
}
