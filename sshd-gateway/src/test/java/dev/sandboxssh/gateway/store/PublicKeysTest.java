package dev.sandboxssh.gateway.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublicKeysTest {

  @TempDir Path dir;

  @Test
  void fingerprintsMatchOpenSsh() throws Exception {
    for (String type : List.of("ed25519", "rsa", "ecdsa")) {
      Path pub = TestKeys.generate(dir, "id_" + type, type, "me@" + type);
      List<PublicKeys.ParsedKey> keys = PublicKeys.readFile(pub);
      assertThat(keys).hasSize(1);
      String expected = TestKeys.fingerprint(pub);
      assertThat(expected).startsWith("SHA256:");
      assertThat(keys.get(0).ownerKey().fingerprint()).isEqualTo(expected);
      assertThat(PublicKeys.fingerprint(keys.get(0).key())).isEqualTo(expected);
      // The stored line is the .pub file's content, comment included.
      assertThat(keys.get(0).ownerKey().authorizedKey()).isEqualTo(Files.readString(pub).strip());
      assertThat(PublicKeys.fingerprint(PublicKeys.decode(keys.get(0).ownerKey().authorizedKey())))
          .isEqualTo(expected);
    }
  }

  @Test
  void readsAuthorizedKeysStyleFiles() throws Exception {
    Path a = TestKeys.generate(dir, "a", "ed25519", "a@x");
    Path b = TestKeys.generate(dir, "b", "rsa", "b@x");
    Path file = dir.resolve("keys");
    Files.writeString(
        file,
        "# my keys\n\n"
            + Files.readString(a)
            + "  \r\n"
            + "no-pty,from=\"10.0.0.0/8\" "
            + Files.readString(b)
            + Files.readString(a)); // a duplicate is kept once
    List<PublicKeys.ParsedKey> keys = PublicKeys.readFile(file);
    assertThat(keys)
        .extracting(k -> k.ownerKey().fingerprint())
        .containsExactly(TestKeys.fingerprint(a), TestKeys.fingerprint(b));
    assertThat(keys).extracting(PublicKeys.ParsedKey::hadOptions).containsExactly(false, true);
    assertThat(keys.get(1).ownerKey().authorizedKey()).startsWith("ssh-rsa ").endsWith(" b@x");
  }

  @Test
  void oneBadLineRejectsTheWholeFile() throws Exception {
    Path a = TestKeys.generate(dir, "a", "ed25519", "a@x");
    Path file = dir.resolve("mixed");
    Files.writeString(file, Files.readString(a) + "ssh-ed25519 AAAAnotbase64!!\n");
    assertThatThrownBy(() -> PublicKeys.readFile(file))
        .isInstanceOfSatisfying(
            StoreException.class,
            e -> assertThat(e.reason()).isEqualTo(StoreException.Reason.INVALID))
        .hasMessage(file + " line 2: not an OpenSSH public key");
  }

  @Test
  void filesWithoutAPublicKeyAreNamed() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.pub"), "# nothing here\n\n");
    assertThatThrownBy(() -> PublicKeys.readFile(empty))
        .isInstanceOf(StoreException.class)
        .hasMessage(empty + " holds no public key");

    TestKeys.generate(dir, "priv", "ed25519", "p");
    assertThatThrownBy(() -> PublicKeys.readFile(dir.resolve("priv")))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(dir.resolve("priv") + " line 1: this is a private key");

    Path missing = dir.resolve("missing.pub");
    assertThatThrownBy(() -> PublicKeys.readFile(missing))
        .isInstanceOf(StoreException.class)
        .hasMessage("cannot read " + missing + ": no such file");

    assertThatThrownBy(() -> PublicKeys.readFile(dir))
        .isInstanceOf(StoreException.class)
        .hasMessageStartingWith("cannot read " + dir);
  }

  @Test
  void certificatesAreRefused() throws Exception {
    TestKeys.generate(dir, "ca", "ed25519", "ca");
    Path pub = TestKeys.generate(dir, "user", "ed25519", "user");
    Path cert = TestKeys.certify(dir.resolve("ca"), pub);
    assertThatThrownBy(() -> PublicKeys.readFile(cert))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("a certificate");
  }
}
