package dev.sandboxssh.gateway.auth;

import static dev.sandboxssh.gateway.auth.CertificateFixtures.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link Krl} against KRLs written by OpenSSH's {@code ssh-keygen -k} (the fuzz target's seeds).
 */
class KrlTest {
  @Test
  void readsWhatSshKeygenWrites() throws Exception {
    assertThat(krl("krl-empty").isRevoked(key("user-ed25519"))).isFalse();

    // By key: user-ed25519 and user-rsa; a certificate of a revoked key is revoked too.
    Krl byKey = krl("krl-by-key");
    assertThat(byKey.isRevoked(key("user-ed25519"))).isTrue();
    assertThat(byKey.isRevoked(key("user-rsa"))).isTrue();
    assertThat(byKey.isRevoked(key("user-ecdsa"))).isFalse();
    assertThat(byKey.isRevoked(key("cert-ok-ed25519"))).isTrue();
    assertThat(byKey.isRevoked(key("cert-ok-ecdsa"))).isFalse();

    // Serials 42, 100-199 and 1000-1012 (even ones) of ca-ed25519.
    Krl bySerial = krl("krl-by-serial");
    assertThat(bySerial.isRevoked(key("cert-revoked-serial"))).isTrue(); // serial 42
    assertThat(bySerial.isRevoked(key("cert-ok-ed25519"))).isFalse(); // serial 1

    // Key ids "revoked-id" and "another id" of ca-ed25519.
    Krl byId = krl("krl-by-key-id");
    assertThat(byId.isRevoked(key("cert-revoked-id"))).isTrue();
    assertThat(byId.isRevoked(key("cert-revoked-serial"))).isFalse();

    // Serial 2 of ca-ecdsa, written from the certificate itself.
    Krl byCert = krl("krl-by-ca-cert");
    assertThat(byCert.isRevoked(key("cert-ok-ecdsa"))).isTrue();
    assertThat(byCert.isRevoked(key("cert-source-address"))).isFalse(); // serial 8

    assertThat(krl("krl-by-hash").isRevoked(key("user-ed25519"))).isTrue();
    Krl hashes = krl("krl-by-key-sha1");
    assertThat(hashes.isRevoked(key("user-ecdsa"))).isTrue();
    assertThat(hashes.isRevoked(key("user-rsa"))).isTrue();
    assertThat(hashes.isRevoked(key("user-ed25519"))).isFalse();
  }

  @Test
  void refusesWhatIsNotAWholeKrl() {
    byte[] whole = seed("krl-combined");
    // Not 44: the header alone is a whole (empty) KRL, as a file cut at any section's end is a
    // smaller one; nothing in an unsigned KRL tells them apart, in OpenSSH either.
    for (int n : new int[] {0, 7, 8, 20, 43, 60, 200, whole.length - 1}) {
      assertThatThrownBy(() -> Krl.parse(Arrays.copyOf(whole, n)))
          .as("first %d bytes", n)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("KRL");
    }
    assertThatThrownBy(() -> Krl.parse(seed("crafted-version-2")))
        .hasMessage("unsupported KRL format version 2");
  }

  @Test
  void nothingFollowsTheSignature() throws Exception {
    byte[] signed = seed("crafted-signature-section");
    assertThat(Krl.parse(signed).isRevoked(key("user-ed25519"))).isTrue();
    // A key section after the signature section: OpenSSH refuses such a file as a whole.
    byte[] more = Arrays.copyOf(signed, signed.length + 5);
    more[signed.length] = 2;
    assertThatThrownBy(() -> Krl.parse(more)).hasMessageContaining("after the signature");
  }

  private static Krl krl(String seed) throws IOException {
    return Krl.parse(seed(seed));
  }

  private static byte[] seed(String name) {
    try (InputStream in = KrlTest.class.getResourceAsStream("KrlFuzzTestInputs/parse/" + name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
