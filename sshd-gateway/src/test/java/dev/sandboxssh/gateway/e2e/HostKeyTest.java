package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host key: ed25519, private to the gateway, the same across restarts. */
@Tag("e2e")
class HostKeyTest {
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

  private static Path hostKey() {
    return gateway.config().keysDir().resolve("ssh_host_ed25519_key");
  }

  @Test
  void createdAsEd25519WithMode0600AndNoRsa() throws IOException {
    assertThat(Files.getPosixFilePermissions(hostKey()))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(fingerprintLine()).endsWith("(ED25519)");
    try (var files = Files.list(gateway.config().keysDir())) {
      assertThat(files.map(p -> p.getFileName().toString()).toList())
          .noneMatch(name -> name.contains("rsa"));
    }
    OpenSsh.Result rsa =
        gateway
            .ssh()
            .ssh(
                GatewayFixture.SANDBOX,
                "true",
                "-o",
                "HostKeyAlgorithms=rsa-sha2-512,rsa-sha2-256",
                "-o",
                "LogLevel=INFO",
                "-o",
                "UserKnownHostsFile=" + dir.resolve("rsa_known_hosts"));
    assertThat(rsa.exitCode()).isEqualTo(255);
    assertThat(rsa.stderr()).contains("no matching host key type");
  }

  @Test
  void restartKeepsTheKeyThatClientsKnow() throws IOException {
    OpenSsh ssh = gateway.ssh();
    OpenSsh.Result first = ssh.ssh(GatewayFixture.SANDBOX, "echo before");
    assertThat(first.stdout()).as(first.stderr()).isEqualTo("before\n");
    String known = Files.readString(dir.resolve("known_hosts"), StandardCharsets.UTF_8);
    String fingerprint = fingerprintLine();

    gateway.restart();

    assertThat(fingerprintLine()).isEqualTo(fingerprint);
    OpenSsh.Result second =
        ssh.ssh(GatewayFixture.SANDBOX, "echo after", "-o", "StrictHostKeyChecking=yes");
    assertThat(second.stdout()).as(second.stderr()).isEqualTo("after\n");
    assertThat(second.exitCode()).isZero();
    assertThat(Files.readString(dir.resolve("known_hosts"), StandardCharsets.UTF_8))
        .isEqualTo(known);
  }

  /** {@code ssh-keygen -l} of the host key: "256 SHA256:... comment (ED25519)". */
  private static String fingerprintLine() {
    OpenSsh.Result r =
        OpenSsh.run(
            List.of(OpenSsh.binary("ssh-keygen"), "-l", "-f", hostKey().toString()),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return r.stdout().strip();
  }
}
