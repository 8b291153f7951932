package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.cli.GatewayMain;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Public keys only, checked against owners; every refusal looks the same from outside. */
@Tag("e2e")
class AuthTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;
  static Path bobKey;
  static Path strangerKey;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
    bobKey = gateway.addOwner("bob");
    gateway.addSandbox("bobs", "bob");
    strangerKey = gateway.newKey("stranger");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void wrongKeyForeignSandboxAndUnknownSandboxAreDeniedAlike() throws IOException {
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.auth")) {
      OpenSsh.Result wrong = ssh.withIdentity(strangerKey).ssh(GatewayFixture.SANDBOX, "true");
      OpenSsh.Result foreign = ssh.withIdentity(bobKey).ssh(GatewayFixture.SANDBOX, "true");
      OpenSsh.Result unknown = ssh.ssh("nosuch", "true");
      OpenSsh.Result notOwners = ssh.withIdentity(bobKey).ssh(GatewayFixture.OWNER, "true");

      assertThat(wrong.exitCode()).isEqualTo(255);
      assertThat(foreign.exitCode()).isEqualTo(255);
      assertThat(unknown.exitCode()).isEqualTo(255);
      assertThat(wrong.stderr()).isEqualTo("demo@127.0.0.1: Permission denied (publickey).\r\n");
      assertThat(foreign.stderr()).isEqualTo(wrong.stderr());
      assertThat(unknown.stderr().replace("nosuch@", "demo@")).isEqualTo(wrong.stderr());
      assertThat(notOwners.stderr().replace("alice@", "demo@")).isEqualTo(wrong.stderr());

      assertLogged(log, "no-matching-key", "demo", strangerKey);
      assertLogged(log, "foreign-sandbox", "demo", bobKey);
      assertLogged(log, "unknown-sandbox", "nosuch", gateway.aliceKey());
      assertLogged(log, "not-owners-key", GatewayFixture.OWNER, bobKey);
    }
    // Bob's key is good for his own sandbox.
    assertThat(ssh.withIdentity(bobKey).ssh("bobs", "echo bob").stdout()).isEqualTo("bob\n");
  }

  @Test
  void badSignatureMalformedKeyAndUnsupportedAlgorithmAreRefusedWithTheirReasonsOnly()
      throws IOException {
    // paramiko, on one connection: alice's public key signed with another key, alice's key with
    // bytes after it in the blob, a DSA key; then alice's own key, which must still get in.
    String script =
        """
        import sys, paramiko
        port, user = int(sys.argv[1]), sys.argv[2]
        alice = paramiko.Ed25519Key.from_private_key_file(sys.argv[3])
        stranger = paramiko.Ed25519Key.from_private_key_file(sys.argv[4])
        class SignedByStranger(paramiko.Ed25519Key):
            def __init__(self):
                self.__dict__.update(alice.__dict__)
            def sign_ssh_data(self, data, algorithm=None):
                return stranger.sign_ssh_data(data, algorithm)
        class TrailingBytes(paramiko.Ed25519Key):
            def __init__(self):
                self.__dict__.update(alice.__dict__)
            def asbytes(self):
                return super().asbytes() + b'\\0\\0\\0\\4junk'
        t = paramiko.Transport(('127.0.0.1', port))
        t.start_client(timeout=30)
        for key in (SignedByStranger(), TrailingBytes(), paramiko.DSSKey.generate(1024)):
            try:
                t.auth_publickey(user, key)
                print('accepted')
            except paramiko.AuthenticationException:
                print('refused, connected=%s' % t.is_active())
        t.auth_publickey(user, alice)
        ch = t.open_session()
        ch.exec_command('echo in')
        print(ch.makefile().read().decode().strip() + ' status=%d' % ch.recv_exit_status())
        t.close()
        """;
    try (LogCapture log = LogCapture.of("dev.sandboxssh.gateway.auth")) {
      OpenSsh.Result r =
          PythonClients.run(
              script,
              Integer.toString(gateway.port()),
              GatewayFixture.SANDBOX,
              gateway.aliceKey().toString(),
              strangerKey.toString());
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      assertThat(r.stdout())
          .isEqualTo(
              """
              refused, connected=True
              refused, connected=True
              refused, connected=True
              in status=0
              """);
      assertLogged(log, "bad-signature", GatewayFixture.SANDBOX, gateway.aliceKey());
      assertThat(log.messages())
          .anySatisfy(
              m ->
                  assertThat(m)
                      .contains("login refused: malformed-key user=" + GatewayFixture.SANDBOX)
                      .contains("key=- from=/127.0.0.1:"))
          .anySatisfy(
              m ->
                  assertThat(m)
                      .contains(
                          "login refused: unsupported-algorithm user=" + GatewayFixture.SANDBOX)
                      .contains("algorithm=ssh-dss"));
      // One line per refusal: MINA's own, reasonless WARN (logged under the gateway's user-auth
      // service) does not follow the bad signature's.
      assertThat(log.messages())
          .noneSatisfy(m -> assertThat(m).contains("Key verification failed"));
    }
  }

  private static void assertLogged(LogCapture log, String label, String user, Path key)
      throws IOException {
    String fingerprint =
        GatewayFixture.ownerKey(key.resolveSibling(key.getFileName() + ".pub")).fingerprint();
    assertThat(log.messages())
        .as("a %s line with key and remote address", label)
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains(label)
                    .contains("user=" + user)
                    .contains(fingerprint)
                    .contains("from=/127.0.0.1:"));
  }

  @Test
  void passwordAndKeyboardInteractiveAreNotOffered() {
    OpenSsh.Result r =
        ssh.ssh(
            GatewayFixture.SANDBOX,
            "true",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive");
    assertThat(r.exitCode()).isEqualTo(255);
    assertThat(r.stderr()).contains("Permission denied (publickey)");

    OpenSsh.Result verbose =
        ssh.withIdentity(strangerKey).ssh(GatewayFixture.SANDBOX, "true", "-v");
    List<String> offered =
        verbose
            .stderr()
            .lines()
            .filter(l -> l.contains("Authentications that can continue"))
            .toList();
    assertThat(offered).isNotEmpty().allSatisfy(l -> assertThat(l).endsWith("continue: publickey"));
  }

  @Test
  void adminCommandsTakeEffectWithoutRestart() throws IOException {
    Path carolKey = gateway.newKey("carol");
    assertThat(ssh.withIdentity(carolKey).ssh("carols", "true").exitCode()).isEqualTo(255);

    admin("owner", "add", "carol", "--key", carolKey.resolveSibling("carol.pub").toString());
    admin("sandbox", "create", "--owner", "carol", "--id", "carols");
    OpenSsh.Result in = ssh.withIdentity(carolKey).ssh("carols", "echo carol-in");
    assertThat(in.stdout()).as(in.stderr()).isEqualTo("carol-in\n");

    admin("sandbox", "delete", "carols");
    OpenSsh.Result out = ssh.withIdentity(carolKey).ssh("carols", "echo carol-in");
    assertThat(out.exitCode()).isEqualTo(255);
    assertThat(out.stderr()).isEqualTo("carols@127.0.0.1: Permission denied (publickey).\r\n");
  }

  /** Runs an admin command on the gateway's data dir, as an operator would beside it. */
  private static void admin(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] withDataDir = new String[args.length + 2];
    System.arraycopy(args, 0, withDataDir, 0, args.length);
    withDataDir[args.length] = "--data-dir";
    withDataDir[args.length + 1] = gateway.config().dataDir().toString();
    int status =
        GatewayMain.execute(
            withDataDir,
            new PrintWriter(out),
            new PrintWriter(err),
            config -> {
              throw new AssertionError("not an admin command");
            });
    assertThat(status).as("%s: %s", List.of(args), err).isZero();
  }
}
