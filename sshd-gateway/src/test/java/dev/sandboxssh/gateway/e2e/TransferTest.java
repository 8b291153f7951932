package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 64 MiB up and down through exec channels, byte for byte. */
@Tag("e2e")
class TransferTest {
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
  void sixtyFourMebibytesRoundTripWithEqualSha256() throws Exception {
    byte[] data = new byte[64 * 1024 * 1024];
    new SplittableRandom(42).nextBytes(data);
    String sha = sha256(data);
    OpenSsh ssh = gateway.ssh();

    OpenSsh.Result up =
        ssh.ssh(
            GatewayFixture.SANDBOX, "cat > big.bin; sha256sum big.bin", data, Timeouts.TRANSFER);
    assertThat(up.exitCode()).as(up.stderr()).isZero();
    assertThat(up.stdout()).isEqualTo(sha + "  big.bin\n");

    OpenSsh.Result down =
        ssh.ssh(GatewayFixture.SANDBOX, "cat big.bin", new byte[0], Timeouts.TRANSFER);
    assertThat(down.exitCode()).as(down.stderr()).isZero();
    assertThat(down.stdoutBytes()).hasSize(data.length);
    assertThat(sha256(down.stdoutBytes())).isEqualTo(sha);
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }
}
