package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host key: ed25519, private to the gateway, the same across restarts, and rotated through
 * OpenSSH's UpdateHostKeys.
 */
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

  /**
   * A rotation as README.md describes it: the gateway announces a next key beside the current one;
   * one login with UpdateHostKeys adds it (and an RSA next key, proven with rsa-sha2-512) to a
   * known_hosts that held only the current key; after the next key has become the only one, the
   * same client logs in with StrictHostKeyChecking=yes and no warning, and forgets the old keys.
   */
  @Test
  void rotationThroughUpdateHostKeys(@TempDir Path rotation) throws Exception {
    Path keys = rotation.resolve("keys");
    Files.createDirectories(keys);
    Path next = GatewayFixture.newKey(keys, "ssh_host_ed25519_key.next");
    Path nextRsa = keys.resolve("ssh_host_rsa_key.next");
    OpenSsh.Result keygen =
        OpenSsh.run(
            List.of(
                OpenSsh.binary("ssh-keygen"),
                "-q",
                "-t",
                "rsa",
                "-b",
                "3072",
                "-N",
                "",
                "-f",
                nextRsa.toString()),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(keygen.exitCode()).as(keygen.stderr()).isZero();
    Path knownHosts = rotation.resolve("known_hosts");

    try (GatewayFixture rotating = GatewayFixture.start(rotation)) {
      String host = "[127.0.0.1]:" + rotating.port();
      Path current = keys.resolve("ssh_host_ed25519_key");
      OpenSsh ssh = rotating.ssh();

      // A client that met the gateway before the rotation began knows the current key only.
      OpenSsh.Result first = ssh.ssh(GatewayFixture.SANDBOX, "echo first");
      assertThat(first.stdout()).as(first.stderr()).isEqualTo("first\n");
      assertThat(knownKeys(knownHosts, host)).containsExactly(publicKey(current));

      // The client asks for proof of the new keys while the command runs, and forgets the answer
      // if the session has ended by then: the command waits for a line, which the test sends once
      // the client has written the keys it learnt.
      Process learning =
          OpenSsh.start(
              ssh.sshCommand(
                  GatewayFixture.SANDBOX,
                  "read -r line; echo learn-$line",
                  "-o",
                  "UpdateHostKeys=yes",
                  "-o",
                  "StrictHostKeyChecking=yes",
                  "-o",
                  "LogLevel=DEBUG3"));
      try {
        CompletableFuture<String> out = readAll(learning.getInputStream());
        CompletableFuture<String> err = readAll(learning.getErrorStream());
        Eventually.until(
            "the client to write the keys it learnt",
            Timeouts.EVENTUALLY,
            () -> knownKeys(knownHosts, host).size() == 3);
        try (var in = learning.getOutputStream()) {
          in.write("now\n".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(learning.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        String stderr = err.get(10, TimeUnit.SECONDS);
        assertThat(out.get(10, TimeUnit.SECONDS)).as(stderr).isEqualTo("learn-now\n");
        assertThat(stderr).contains("asking server to prove ownership for 2 keys");
        assertThat(stderr).containsPattern("verify RSA key \\d+ using sigalg rsa-sha2-512");
      } finally {
        learning.destroyForcibly();
      }
      assertThat(knownKeys(knownHosts, host))
          .containsExactlyInAnyOrder(publicKey(current), publicKey(next), publicKey(nextRsa));

      // The rotation done: the next key is the only one.
      Files.move(next, current, StandardCopyOption.REPLACE_EXISTING);
      Files.delete(nextRsa);
      rotating.restart();

      OpenSsh.Result after =
          ssh.ssh(
              GatewayFixture.SANDBOX,
              "echo after",
              "-o",
              "UpdateHostKeys=yes",
              "-o",
              "StrictHostKeyChecking=yes",
              "-o",
              "LogLevel=INFO");
      assertThat(after.stdout()).as(after.stderr()).isEqualTo("after\n");
      assertThat(after.exitCode()).isZero();
      assertThat(after.stderr()).isEmpty();
      assertThat(knownKeys(knownHosts, host)).containsExactly(publicKey(current));
    }
  }

  /** Everything {@code stream} gives until its end, read on a thread of its own. */
  private static CompletableFuture<String> readAll(InputStream stream) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (stream) {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        BlockingTasks.THREADS);
  }

  /** The "type base64" of each key that {@code ssh-keygen -F host} finds in {@code knownHosts}. */
  private static List<String> knownKeys(Path knownHosts, String host) {
    OpenSsh.Result r =
        OpenSsh.run(
            List.of(OpenSsh.binary("ssh-keygen"), "-F", host, "-f", knownHosts.toString()),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(r.exitCode()).as("ssh-keygen -F %s: %s", host, r.stderr()).isZero();
    return r.stdout()
        .lines()
        .filter(line -> !line.startsWith("#") && !line.isBlank())
        .map(line -> typeAndBlob(line.substring(line.indexOf(' ') + 1)))
        .toList();
  }

  /** The "type base64" of a private key file, as ssh-keygen -y derives it. */
  private static String publicKey(Path privateKey) {
    OpenSsh.Result r =
        OpenSsh.run(
            List.of(OpenSsh.binary("ssh-keygen"), "-y", "-f", privateKey.toString()),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    return typeAndBlob(r.stdout());
  }

  private static String typeAndBlob(String line) {
    String[] parts = line.strip().split("\\s+");
    return parts[0] + " " + parts[1];
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
