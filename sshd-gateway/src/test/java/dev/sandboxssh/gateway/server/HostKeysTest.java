package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.gateway.config.ConfigException;
import dev.sandboxssh.gateway.store.TestKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.List;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rules of the keys dir: which files are host keys, which sign key exchange, which stop. */
class HostKeysTest {
  @TempDir Path dir;

  @Test
  void anEmptyDirGetsOneCurrentEd25519KeyWithMode0600ThatIsKept() throws Exception {
    HostKeys keys = HostKeys.loadOrCreate(dir, false);

    Path file = dir.resolve("ssh_host_ed25519_key");
    assertThat(keys.all()).singleElement().satisfies(k -> assertThat(k.current()).isTrue());
    assertThat(keys.all().get(0).file()).isEqualTo(file);
    assertThat(keys.all().get(0).type()).isEqualTo("ssh-ed25519");
    assertThat(Files.getPosixFilePermissions(file))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(TestKeys.run(List.of("ssh-keygen", "-l", "-f", file.toString())))
        .contains("(ED25519)");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList())
          .containsExactly("ssh_host_ed25519_key");
    }

    HostKeys again = HostKeys.loadOrCreate(dir, false);
    assertThat(KeyUtils.compareKeys(again.announced().get(0), keys.announced().get(0))).isTrue();
  }

  @Test
  void rsaIsASecondCurrentKeyOnlyWhenConfigured() throws Exception {
    HostKeys keys = HostKeys.loadOrCreate(dir, true);

    assertThat(keys.all())
        .extracting(HostKeys.HostKey::type)
        .containsExactly("ssh-ed25519", "ssh-rsa");
    assertThat(keys.all()).allMatch(HostKeys.HostKey::current);
    assertThat(((RSAPublicKey) keys.all().get(1).publicKey()).getModulus().bitLength())
        .isEqualTo(3072);
    assertThat(keys.loadKeys(null)).hasSize(2);
  }

  @Test
  void nextKeysAreAnnouncedAfterTheCurrentOnesButNeverSignKeyExchange(@TempDir Path elsewhere)
      throws Exception {
    HostKeys.loadOrCreate(dir, false);
    Path edPub = TestKeys.generate(dir, "ssh_host_ed25519_key.next", "ed25519", "next");
    Path rsaPub = TestKeys.generate(dir, "ssh_host_rsa_key.next", "rsa", "next rsa");
    Files.writeString(dir.resolve("README.md"), "not a key");
    Files.copy(edPub, dir.resolve("ssh_host_ed25519_key.pub"));
    Files.copy(dir.resolve("ssh_host_ed25519_key.next"), dir.resolve("ssh_host_ed25519_key.old"));

    HostKeys keys = HostKeys.loadOrCreate(dir, false);

    assertThat(keys.all())
        .extracting(k -> k.file().getFileName().toString())
        .containsExactly(
            "ssh_host_ed25519_key", "ssh_host_ed25519_key.next", "ssh_host_rsa_key.next");
    assertThat(keys.all())
        .extracting(HostKeys.HostKey::current)
        .containsExactly(true, false, false);
    assertThat(keys.loadKeys(null)).containsExactly(keys.all().get(0).pair());
    assertThat(keys.announced()).hasSize(3);
    assertThat(KeyUtils.compareKeys(keys.announced().get(1), publicKey(edPub))).isTrue();
    assertThat(KeyUtils.compareKeys(keys.announced().get(2), publicKey(rsaPub))).isTrue();
    assertThat(keys.find(publicKey(rsaPub))).isSameAs(keys.all().get(2).pair());
    Path stranger = TestKeys.generate(elsewhere, "stranger", "ed25519", "x");
    assertThat(keys.find(publicKey(stranger))).isNull();
  }

  @Test
  void aNextKeyMayBeALinkToAKeyKeptElsewhere(@TempDir Path elsewhere) throws Exception {
    Path pub = TestKeys.generate(elsewhere, "new_key", "ed25519", "new");
    Files.createSymbolicLink(
        dir.resolve("ssh_host_ed25519_key.next"), elsewhere.resolve("new_key"));

    HostKeys keys = HostKeys.loadOrCreate(dir, false);

    assertThat(keys.announced()).hasSize(2);
    assertThat(KeyUtils.compareKeys(keys.announced().get(1), publicKey(pub))).isTrue();
  }

  @Test
  void everyBadNextKeyIsNamedAndStopsTheStart() throws Exception {
    Files.writeString(dir.resolve("ssh_host_garbage_key.next"), "not a key\n");
    Path encryptedPub = generateEncrypted(dir, "ssh_host_encrypted_key.next");
    Files.copy(encryptedPub, dir.resolve("ssh_host_public_key.next"));
    Files.createDirectory(dir.resolve("ssh_host_dir_key.next"));
    Files.writeString(dir.resolve("ssh_host_empty_key.next"), "");
    TestKeys.run(
        List.of(
            "ssh-keygen",
            "-q",
            "-t",
            "dsa",
            "-N",
            "",
            "-f",
            dir.resolve("ssh_host_dsa_key.next").toString()));

    assertThatThrownBy(() -> HostKeys.loadOrCreate(dir, false))
        .isInstanceOf(ConfigException.class)
        .satisfies(
            e -> {
              List<String> problems = ((ConfigException) e).problems();
              assertThat(problems).hasSize(6);
              for (String name :
                  List.of(
                      "ssh_host_garbage_key.next",
                      "ssh_host_encrypted_key.next",
                      "ssh_host_public_key.next",
                      "ssh_host_dir_key.next",
                      "ssh_host_empty_key.next",
                      "ssh_host_dsa_key.next")) {
                assertThat(problems).anyMatch(p -> p.contains(dir.resolve(name).toString()));
              }
              assertThat(problems)
                  .anyMatch(p -> p.contains("ssh_host_dsa_key.next") && p.contains("ssh-dss"));
              assertThat(problems)
                  .anyMatch(p -> p.contains("ssh_host_dir_key.next: not a regular file"));
            });
  }

  @Test
  void aBadCurrentKeyStopsTheStartAndIsNeverReplaced() throws Exception {
    Path current = dir.resolve("ssh_host_ed25519_key");
    Files.writeString(current, "damaged\n");

    assertThatThrownBy(() -> HostKeys.loadOrCreate(dir, false))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("host key " + current + ": not an unencrypted private key");
    assertThat(Files.readString(current, StandardCharsets.UTF_8)).isEqualTo("damaged\n");
  }

  @Test
  void aCurrentKeyLinkedToNothingIsNotReplacedByANewKey(@TempDir Path elsewhere) throws Exception {
    Path current = dir.resolve("ssh_host_ed25519_key");
    Files.createSymbolicLink(current, elsewhere.resolve("unmounted"));

    assertThatThrownBy(() -> HostKeys.loadOrCreate(dir, false))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("host key " + current + ": a symbolic link to nothing");
    assertThat(Files.isSymbolicLink(current)).isTrue();
    assertThat(Files.exists(elsewhere.resolve("unmounted"))).isFalse();
  }

  @Test
  void aCurrentKeyMustBeOfTheTypeItsNameSays() throws Exception {
    TestKeys.generate(dir, "ssh_host_ed25519_key", "ecdsa", "wrong type");
    byte[] before = Files.readAllBytes(dir.resolve("ssh_host_ed25519_key"));

    assertThatThrownBy(() -> HostKeys.loadOrCreate(dir, false))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("holds an ecdsa-sha2-nistp256 key, where its name says ssh-ed25519");
    assertThat(Files.readAllBytes(dir.resolve("ssh_host_ed25519_key"))).isEqualTo(before);
  }

  @Test
  void aNextKeyThatRepeatsALoadedOneIsSkipped() throws Exception {
    HostKeys.loadOrCreate(dir, false);
    Files.copy(dir.resolve("ssh_host_ed25519_key"), dir.resolve("ssh_host_ed25519_key.next"));

    assertThat(HostKeys.loadOrCreate(dir, false).all()).hasSize(1);
  }

  @Test
  void unusedCurrentLookingKeysAreNotLoaded() throws Exception {
    TestKeys.generate(dir, "ssh_host_ecdsa_key", "ecdsa", "ecdsa");
    TestKeys.generate(dir, "ssh_host_rsa_key", "rsa", "rsa, but rsa is off");

    assertThat(HostKeys.loadOrCreate(dir, false).all())
        .extracting(HostKeys.HostKey::type)
        .containsExactly("ssh-ed25519");
    assertThat(HostKeys.loadOrCreate(dir, true).all())
        .extracting(HostKeys.HostKey::type)
        .containsExactly("ssh-ed25519", "ssh-rsa");
  }

  @Test
  void aKeyReadableByOthersIsMadePrivate() throws Exception {
    TestKeys.generate(dir, "ssh_host_ed25519_key.next", "ed25519", "next");
    Path next = dir.resolve("ssh_host_ed25519_key.next");
    Files.setPosixFilePermissions(next, PosixFilePermissions.fromString("rw-r--r--"));

    HostKeys.loadOrCreate(dir, false);

    assertThat(Files.getPosixFilePermissions(next))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
  }

  private static Path generateEncrypted(Path dir, String name) throws Exception {
    TestKeys.run(
        List.of(
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "secret",
            "-f",
            dir.resolve(name).toString()));
    return dir.resolve(name + ".pub");
  }

  private static PublicKey publicKey(Path pub) throws Exception {
    return AuthorizedKeyEntry.parseAuthorizedKeyEntry(Files.readString(pub).strip())
        .resolvePublicKey(null, PublicKeyEntryResolver.FAILING);
  }
}
