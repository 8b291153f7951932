package dev.sandboxssh.gateway.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FirstStartTest {

  @TempDir Path dir;
  private Path home;
  private JdbcOwnershipStore store;

  @BeforeEach
  void open() throws Exception {
    home = Files.createDirectories(dir.resolve("home"));
    store = JdbcOwnershipStore.open(dir.resolve("gateway.db"));
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void createsOwnerFromEveryPubKeyAndADemoSandbox() throws Exception {
    Path ssh = Files.createDirectories(home.resolve(".ssh"));
    Path ed = TestKeys.generate(ssh, "id_ed25519", "ed25519", "me@host");
    Path rsa = TestKeys.generate(ssh, "id_rsa", "rsa", "me@host");
    Files.writeString(ssh.resolve("broken.pub"), "not a key\n"); // skipped, not fatal

    Optional<String> message =
        FirstStart.bootstrapIfEmpty(store, home, "Me.Myself", "127.0.0.1", 2222);

    assertThat(message).isPresent();
    assertThat(message.get()).endsWith("\n  ssh -p 2222 demo@127.0.0.1");
    assertThat(message.get()).contains("owner me.myself with 2 keys");
    Owner owner = store.findOwner("me.myself").orElseThrow();
    assertThat(owner.keys())
        .extracting(OwnerKey::fingerprint)
        .containsExactlyInAnyOrder(TestKeys.fingerprint(ed), TestKeys.fingerprint(rsa));
    SandboxRecord demo = store.findSandbox("demo").orElseThrow();
    assertThat(demo.owner()).isEqualTo("me.myself");
    assertThat(demo.provider()).isEqualTo(SandboxRecord.Provider.LOCAL);

    // Not empty any more: a second start leaves everything alone.
    assertThat(FirstStart.bootstrapIfEmpty(store, home, "other", "127.0.0.1", 2222)).isEmpty();
    assertThat(store.listOwners()).hasSize(1);
  }

  @Test
  void withoutKeysNothingIsCreatedAndTheMessageSaysHowToAddOne() {
    Optional<String> message = FirstStart.bootstrapIfEmpty(store, home, "me", "0.0.0.0", 22);
    assertThat(message).isPresent();
    assertThat(message.get())
        .contains("java -jar sshd-gateway/target/sshd-gateway.jar owner add me --key")
        .contains("sandbox create --owner me --id demo");
    assertThat(store.isEmpty()).isTrue();
  }

  @Test
  void theHintNamesTheJarTheGatewayRunsFrom() {
    Path checkout = Path.of("/home/me/sandbox-ssh");
    assertThat(
            FirstStart.jarPath(checkout.resolve("sshd-gateway/target/sshd-gateway.jar"), checkout))
        .isEqualTo("sshd-gateway/target/sshd-gateway.jar");
    assertThat(
            FirstStart.jarPath(
                Path.of("/opt/sandbox-ssh/sshd-gateway.jar"), Path.of("/srv/sandbox-ssh")))
        .isEqualTo("/opt/sandbox-ssh/sshd-gateway.jar");
    assertThat(FirstStart.jarPath(checkout.resolve("sshd-gateway/target/classes"), checkout))
        .isEqualTo("sshd-gateway/target/sshd-gateway.jar");
    assertThat(FirstStart.jarPath(null, checkout))
        .isEqualTo("sshd-gateway/target/sshd-gateway.jar");
  }

  @Test
  void sshCommandAndOwnerNames() {
    assertThat(FirstStart.sshCommand("demo", "0.0.0.0", 22)).isEqualTo("ssh demo@localhost");
    assertThat(FirstStart.sshCommand("demo", "::", 2222)).isEqualTo("ssh -p 2222 demo@localhost");
    assertThat(FirstStart.sshCommand("demo", "gw.example.com", 2200))
        .isEqualTo("ssh -p 2200 demo@gw.example.com");
    assertThat(FirstStart.ownerName("John Doe")).isEqualTo("john_doe");
    assertThat(FirstStart.ownerName("1st")).isEqualTo("_1st");
    assertThat(FirstStart.ownerName("ÄÖ")).isEqualTo("owner");
    assertThat(FirstStart.ownerName(null)).isEqualTo("owner");
    assertThat(FirstStart.ownerName("Demo")).isEqualTo("owner");
    assertThat(FirstStart.ownerName("x".repeat(40))).hasSize(32);
    for (String n : List.of("root", "john_doe", "_1st", "owner")) {
      assertThat(Names.isOwnerName(n)).isTrue();
    }
  }
}
