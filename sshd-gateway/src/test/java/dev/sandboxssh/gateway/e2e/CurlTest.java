package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * curl's {@code sftp://} and {@code scp://}, on Debian 12's libssh2 1.10: a client with no AEAD
 * cipher and no encrypt-then-MAC MAC, like libgit2 and PHP's ssh2 on the same library.
 */
@Tag("e2e")
class CurlTest {
  private static final long SIZE = 3 * 1024 * 1024 + 17;

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
  void sftpUploadAndDownloadKeepEveryByte() throws Exception {
    Path original = FileClients.randomFile(dir.resolve("sftp-up.bin"), SIZE, 11);
    OpenSsh.Result put = curl("-T", original.toString(), url("sftp", "sftp-up.bin"));
    assertThat(put.exitCode()).as(put.stderr()).isZero();
    assertThat(
            FileClients.sha256(gateway.sandboxDir(GatewayFixture.SANDBOX).resolve("sftp-up.bin")))
        .isEqualTo(FileClients.sha256(original));

    Path back = dir.resolve("sftp-down.bin");
    OpenSsh.Result get = curl("-o", back.toString(), url("sftp", "sftp-up.bin"));
    assertThat(get.exitCode()).as(get.stderr()).isZero();
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(original));
  }

  @Test
  void scpUploadAndDownloadKeepEveryByte() throws Exception {
    Path original = FileClients.randomFile(dir.resolve("scp-up.bin"), SIZE, 12);
    OpenSsh.Result put = curl("-T", original.toString(), url("scp", "scp-up.bin"));
    assertThat(put.exitCode()).as(put.stderr()).isZero();
    assertThat(FileClients.sha256(gateway.sandboxDir(GatewayFixture.SANDBOX).resolve("scp-up.bin")))
        .isEqualTo(FileClients.sha256(original));

    Path back = dir.resolve("scp-down.bin");
    OpenSsh.Result get = curl("-o", back.toString(), url("scp", "scp-up.bin"));
    assertThat(get.exitCode()).as(get.stderr()).isZero();
    assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(original));
  }

  private static String url(String scheme, String file) {
    return scheme + "://127.0.0.1:" + gateway.port() + "/~/" + file;
  }

  private static OpenSsh.Result curl(String... args) {
    List<String> argv = new ArrayList<>();
    argv.add(OpenSsh.binary("curl"));
    argv.addAll(
        List.of(
            "--silent",
            "--show-error",
            // The host key is not what this test is about (OpenSSH's tests pin it).
            "--insecure",
            "--key",
            gateway.aliceKey().toString(),
            "--pubkey",
            gateway.aliceKey() + ".pub",
            "--user",
            GatewayFixture.SANDBOX + ":"));
    argv.addAll(List.of(args));
    return OpenSsh.run(argv, new byte[0], Timeouts.TRANSFER);
  }
}
