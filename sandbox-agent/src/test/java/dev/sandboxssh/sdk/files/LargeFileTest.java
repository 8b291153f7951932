package dev.sandboxssh.sdk.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.Files;
import dev.sandboxssh.sdk.WriteOptions;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 100 MiB file survives a round trip through the SDK byte for byte. */
@Tag("e2e")
class LargeFileTest {
  private static final int SIZE = 100 * 1024 * 1024;

  @TempDir Path tmp;

  @Test
  void hundredMebibytesWrittenAndReadBackHaveTheSameSha256() throws Exception {
    try (RootedAgentFixture agent = RootedAgentFixture.rooted(tmp)) {
      Files files = agent.sandbox().files();
      MessageDigest sent = MessageDigest.getInstance("SHA-256");
      Random random = new Random(42);
      byte[] block = new byte[1 << 20];
      // Odd write sizes, so that chunk boundaries do not line up with anything.
      try (OutputStream out = files.write("big.bin", WriteOptions.replace())) {
        for (int written = 0; written < SIZE; ) {
          random.nextBytes(block);
          int n = Math.min(block.length - 7, SIZE - written);
          out.write(block, 0, n);
          sent.update(block, 0, n);
          written += n;
        }
      }

      MessageDigest onDisk = MessageDigest.getInstance("SHA-256");
      try (InputStream in =
          java.nio.file.Files.newInputStream(agent.sandboxDir().resolve("big.bin"))) {
        in.transferTo(
            new java.security.DigestOutputStream(OutputStream.nullOutputStream(), onDisk));
      }
      MessageDigest received = MessageDigest.getInstance("SHA-256");
      long total = 0;
      try (InputStream in = files.read("big.bin")) {
        byte[] buffer = new byte[8191];
        for (int n; (n = in.read(buffer)) > 0; ) {
          received.update(buffer, 0, n);
          total += n;
        }
      }

      String expected = HexFormat.of().formatHex(sent.digest());
      assertThat(total).isEqualTo(SIZE);
      assertThat(HexFormat.of().formatHex(onDisk.digest())).isEqualTo(expected);
      assertThat(HexFormat.of().formatHex(received.digest())).isEqualTo(expected);
    }
  }
}
