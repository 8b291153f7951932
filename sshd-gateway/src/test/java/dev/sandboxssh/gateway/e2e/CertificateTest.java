package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenSSH user certificates made by {@code ssh-keygen -s}: owner carol trusts a CA; a valid
 * certificate logs in to her sandbox {@code cdemo}, and every kind of bad one gets the same
 * "Permission denied" with its own reason in the log. Revocation through a KRL and a key list.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CertificateTest {
  private static final String OWNER = "carol";
  private static final String SANDBOX = "cdemo";

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static Path ca;
  static Path revoked;

  @BeforeAll
  static void start() throws Exception {
    revoked = dir.resolve("revoked");
    Files.writeString(revoked, "# nothing revoked yet\n");
    gateway =
        GatewayFixture.start(
            dir,
            c -> c.withAuth(new GatewayConfig.Auth(c.auth().certificatePrincipals(), revoked)));
    ca = gateway.newKey("ca");
    gateway.app().store().addOwner(OWNER, List.of(), List.of(GatewayFixture.ownerKey(pub(ca))));
    gateway.addSandbox(SANDBOX, OWNER);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void aCertificateNamingTheSandboxOrTheOwnerLogsIn() throws Exception {
    for (String principal : List.of(SANDBOX, OWNER)) {
      Path key = certified("ok-" + principal, ca, "-n", principal, "-V", "-5m:+1h");
      OpenSsh.Result r = login(key, "echo in $USER");
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      assertThat(r.stdout()).isEqualTo("in user\n");
    }
    // source-address honoured: plain addresses and ranges, as OpenSSH.
    Path here = certified("here", ca, "-n", SANDBOX, "-O", "source-address=10.1.1.1,127.0.0.1");
    assertThat(login(here, "true").exitCode()).isZero();
  }

  @Test
  void badCertificatesAreRefusedAlikeWithTheirOwnReasonInTheLog() throws Exception {
    Path otherCa = gateway.newKey("other-ca");
    record Case(String label, Path key) {}
    List<Case> cases = new ArrayList<>();
    cases.add(
        new Case(
            "cert-expired", certified("expired", ca, "-n", SANDBOX, "-V", "20200101:20200102")));
    cases.add(
        new Case(
            "cert-not-yet-valid",
            certified("future", ca, "-n", SANDBOX, "-V", "20990101:20990102")));
    cases.add(new Case("cert-principal", certified("wrong", ca, "-n", "someone,cdemo2")));
    cases.add(new Case("untrusted-ca", certified("stranger", otherCa, "-n", SANDBOX)));
    cases.add(
        new Case(
            "cert-source-address",
            certified("elsewhere", ca, "-n", SANDBOX, "-O", "source-address=10.0.0.0/8")));
    cases.add(
        new Case(
            "cert-critical-option",
            certified("forced", ca, "-n", SANDBOX, "-O", "force-command=/bin/true")));
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.auth")) {
      for (Case c : cases) {
        OpenSsh.Result r = login(c.key(), "echo in");
        assertThat(r.exitCode()).as(c.label()).isEqualTo(255);
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderr()).as(c.label()).contains("Permission denied (publickey)");
        assertThat(log.messages())
            .as(c.label())
            .anyMatch(m -> m.startsWith("login refused: " + c.label() + " user=" + SANDBOX));
      }
    }
  }

  @Test
  void revokedCertificatesAndKeysAreRefusedAtTheNextLogin() throws Exception {
    Path serial = certified("serial-42", ca, "-n", SANDBOX, "-z", "42");
    Path byId = certified("by-id", ca, "-n", SANDBOX, "-z", "43");
    Path spare = certified("spare", ca, "-n", SANDBOX, "-z", "44");
    Path ranged = certified("ranged", ca, "-n", SANDBOX, "-z", "150");
    Path plain = gateway.addOwner("dave");
    gateway.addSandbox("ddemo", "dave");
    for (Path k : List.of(serial, byId, spare, ranged)) {
      assertThat(login(k, "true").exitCode()).isZero();
    }
    assertThat(login(plain, "ddemo", "true").exitCode()).isZero();

    // A KRL: a serial and a key id of carol's CA, and dave's plain key.
    Path spec =
        Files.writeString(
            dir.resolve("krl-spec"),
            "serial: 42\nid: by-id\nserial: 100-199\n",
            StandardCharsets.UTF_8);
    keygen("-k", "-f", revoked.toString(), "-s", pub(ca).toString(), spec.toString());
    keygen("-k", "-u", "-f", revoked.toString(), pub(plain).toString());
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.auth")) {
      assertThat(login(serial, "true").exitCode()).isEqualTo(255);
      assertThat(login(byId, "true").exitCode()).isEqualTo(255);
      assertThat(login(ranged, "true").exitCode()).isEqualTo(255);
      assertThat(login(plain, "ddemo", "true").exitCode()).isEqualTo(255);
      assertThat(log.count("login refused: revoked-key")).isEqualTo(4);
    }
    assertThat(login(spare, "true").exitCode()).isZero();

    // A plain list naming the CA revokes every certificate it signed.
    Files.copy(pub(ca), revoked, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThat(login(spare, "true").exitCode()).isEqualTo(255);
    assertThat(login(plain, "ddemo", "true").exitCode()).isZero();

    // An unreadable list refuses everyone until it is fixed, rather than let a revoked key in.
    Files.writeString(revoked, "not a key\n");
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.auth")) {
      assertThat(login(plain, "ddemo", "true").exitCode()).isEqualTo(255);
      assertThat(log.count("login refused: revocation-list-unreadable")).isEqualTo(1);
    }
    Files.writeString(revoked, "");
    assertThat(login(spare, "true").exitCode()).isZero();
  }

  private static OpenSsh.Result login(Path key, String command) {
    return login(key, SANDBOX, command);
  }

  private static OpenSsh.Result login(Path key, String user, String command) {
    // ssh offers KEY-cert.pub beside KEY by itself.
    return gateway.ssh().withIdentity(key).ssh(user, command);
  }

  /** A fresh key with a certificate signed by {@code signer} with these ssh-keygen options. */
  private static Path certified(String name, Path signer, String... options) {
    Path key = gateway.newKey(name);
    List<String> argv = new ArrayList<>(List.of("-q", "-s", signer.toString(), "-I", name));
    argv.addAll(List.of(options));
    argv.add(pub(key).toString());
    keygen(argv.toArray(String[]::new));
    assertThat(key.resolveSibling(name + "-cert.pub")).exists();
    return key;
  }

  private static void keygen(String... args) {
    List<String> argv = new ArrayList<>(List.of(OpenSsh.binary("ssh-keygen")));
    argv.addAll(List.of(args));
    OpenSsh.Result r = OpenSsh.run(argv, new byte[0], Timeouts.COMMAND);
    assertThat(r.exitCode()).as("ssh-keygen %s: %s", argv, r.stderr()).isZero();
  }

  private static Path pub(Path key) {
    return key.resolveSibling(key.getFileName() + ".pub");
  }
}
