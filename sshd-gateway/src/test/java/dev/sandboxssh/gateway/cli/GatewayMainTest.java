package dev.sandboxssh.gateway.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.store.JdbcOwnershipStore;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.gateway.store.TestKeys;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayMainTest {

  @TempDir Path tmp;
  private Path data;
  private Path aliceKey;
  private final AtomicReference<GatewayConfig> served = new AtomicReference<>();

  /** One run: exit status and what it printed. */
  record Run(int status, String out, String err) {
    List<String> errLines() {
      return err.isEmpty() ? List.of() : List.of(err.split("\n"));
    }
  }

  private Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status =
        GatewayMain.execute(
            args,
            new PrintWriter(out),
            new PrintWriter(err),
            config -> {
              served.set(config);
              return 0;
            });
    return new Run(status, out.toString(), err.toString());
  }

  /** An admin command on the test's data dir. */
  private Run admin(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--data-dir");
    all.add(data.toString());
    return run(all.toArray(String[]::new));
  }

  private static void assertBadInput(Run r, String expected) {
    assertThat(r.status()).as(r.toString()).isEqualTo(2);
    assertThat(r.errLines()).as(r.toString()).hasSize(1);
    assertThat(r.err()).startsWith("error: ").contains(expected);
    assertThat(r.out()).isEmpty();
  }

  @BeforeEach
  void setUp() throws Exception {
    data = tmp.resolve("data");
    aliceKey = TestKeys.generate(tmp, "alice", "ed25519", "alice@test");
  }

  @Test
  void ownerAddListRemove() throws Exception {
    Path bob = TestKeys.generate(tmp, "bob", "rsa", "bob@test");
    Path two =
        Files.writeString(
            tmp.resolve("two.pub"), Files.readString(aliceKey) + Files.readString(bob));
    Run add = admin("owner", "add", "alice", "--key", two.toString());
    assertThat(add.status()).as(add.toString()).isZero();
    assertThat(add.out())
        .startsWith("added owner alice with 2 keys\n")
        .contains(TestKeys.fingerprint(aliceKey) + " ssh-ed25519")
        .contains(TestKeys.fingerprint(bob) + " ssh-rsa");
    // bo also trusts a user CA (here the public half of another key).
    Run bo = admin("owner", "add", "bo", "--key", bob.toString(), "--ca", aliceKey.toString());
    assertThat(bo.status()).isZero();
    assertThat(bo.out())
        .startsWith("added owner bo with 1 key and 1 certificate authority\n")
        .contains(TestKeys.fingerprint(aliceKey) + " ssh-ed25519 (CA)");

    Run list = admin("owner", "list");
    assertThat(list.status()).isZero();
    List<String> lines = list.out().lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).matches("NAME   KEYS  CAS  CREATED");
    assertThat(lines.get(1))
        .matches("alice  2     0    \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
    assertThat(lines.get(2)).matches("bo     1     1    \\S+Z");

    Run remove = admin("owner", "remove", "bo");
    assertThat(remove.status()).isZero();
    assertThat(admin("owner", "list").out()).doesNotContain("bo ");
    assertBadInput(admin("owner", "remove", "bo"), "no owner named bo");
  }

  @Test
  void ownerAddRefusalsWriteNothing() throws Exception {
    Path mixed =
        Files.writeString(
            tmp.resolve("mixed.pub"), Files.readString(aliceKey) + "ssh-ed25519 AAAAC3broken x\n");
    assertBadInput(admin("owner", "add", "alice", "--key", mixed.toString()), "line 2");
    Path empty = Files.writeString(tmp.resolve("empty.pub"), "\n# nothing\n");
    assertBadInput(
        admin("owner", "add", "alice", "--key", empty.toString()), empty + " holds no public key");
    assertBadInput(
        admin("owner", "add", "alice", "--key", tmp.resolve("nope.pub").toString()), "cannot read");
    assertBadInput(admin("owner", "add", "Alice!", "--key", aliceKey.toString()), "bad owner name");
    assertBadInput(admin("owner", "add", "alice"), "give --key FILE, --ca FILE or both");
    assertThat(admin("owner", "list").out()).isEqualTo("NAME  KEYS  CAS  CREATED\n");

    assertThat(admin("owner", "add", "alice", "--key", aliceKey.toString()).status()).isZero();
    assertBadInput(
        admin("owner", "add", "alice", "--key", aliceKey.toString()), "owner alice already exists");
  }

  @Test
  void localSandboxLifecycle() throws Exception {
    admin("owner", "add", "alice", "--key", aliceKey.toString());
    Run create = admin("sandbox", "create", "--owner", "alice", "--id", "demo");
    assertThat(create.status()).as(create.toString()).isZero();
    assertThat(create.out()).isEqualTo("demo\n");
    assertThat(create.err()).isEmpty();
    Path home = data.resolve("sandboxes/demo");
    assertThat(home).isDirectory();
    Files.writeString(Files.createDirectories(home.resolve("a/b")).resolve("f"), "x");
    // A link out of the sandbox is removed, not followed.
    Path outside = Files.writeString(tmp.resolve("outside"), "keep");
    Files.createSymbolicLink(home.resolve("link"), outside);
    Files.createSymbolicLink(home.resolve("dirlink"), tmp);

    Run generated = admin("sandbox", "create", "--owner", "alice");
    assertThat(generated.out()).matches("sbx-[a-z2-7]{8}\n");

    Run list = admin("sandbox", "list");
    List<String> lines = list.out().lines().toList();
    assertThat(lines.get(0)).isEqualTo("ID            OWNER  PROVIDER  STATE    CREATED");
    assertThat(lines.get(1)).matches("demo          alice  local     created  \\S+Z");
    assertThat(lines.get(2)).startsWith(generated.out().strip() + "  alice  local");

    Run delete = admin("sandbox", "delete", "demo");
    assertThat(delete.status()).as(delete.toString()).isZero();
    assertThat(home).doesNotExist();
    assertThat(outside).hasContent("keep");
    assertThat(tmp.resolve("alice.pub")).exists();
    assertBadInput(admin("sandbox", "delete", "demo"), "no sandbox demo");
  }

  @Test
  void sandboxCreateRefusals() throws Exception {
    admin("owner", "add", "alice", "--key", aliceKey.toString());
    assertBadInput(admin("sandbox", "create", "--owner", "carol"), "no owner named carol");
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--id", "Not_A_Label"), "not a DNS label");
    assertThat(admin("sandbox", "create", "--owner", "alice", "--id", "demo").status()).isZero();
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--id", "demo"),
        "sandbox demo already exists");
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--endpoint", "h:1"),
        "--endpoint and --token-file go together");
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--token-file", aliceKey.toString()),
        "--endpoint and --token-file go together");
    assertBadInput(
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--endpoint",
            "h:1",
            "--token-file",
            tmp.resolve("none").toString()),
        "cannot read " + tmp.resolve("none") + ": no such file");
    // A directory left behind by an earlier sandbox is not handed to a new one.
    Files.createDirectories(data.resolve("sandboxes/stale"));
    assertBadInput(admin("sandbox", "create", "--owner", "alice", "--id", "stale"), "exists");
    assertThat(admin("sandbox", "list").out().lines()).hasSize(2);
  }

  @Test
  void remoteSandboxKeepsEndpointAndTokenButNeverPrintsIt() throws Exception {
    admin("owner", "add", "alice", "--key", aliceKey.toString());
    Path tokenFile = Files.writeString(tmp.resolve("token"), "t0ken-Secret\n");
    Run create =
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--id",
            "vm1",
            "--endpoint",
            "10.1.2.3:49983",
            "--token-file",
            tokenFile.toString());
    assertThat(create.status()).as(create.toString()).isZero();
    assertThat(create.out()).isEqualTo("vm1\n");
    assertThat(data.resolve("sandboxes/vm1")).doesNotExist();
    Run list = admin("sandbox", "list");
    assertThat(list.out()).contains("vm1  alice  remote").doesNotContain("t0ken");
    try (JdbcOwnershipStore store = JdbcOwnershipStore.open(data.resolve("gateway.db"))) {
      SandboxRecord vm1 = store.findSandbox("vm1").orElseThrow();
      assertThat(vm1.endpoint()).isEqualTo("10.1.2.3:49983");
      assertThat(vm1.token()).isEqualTo("t0ken-Secret");
      assertThat(vm1.provider()).isEqualTo(SandboxRecord.Provider.REMOTE);
    }
    Run bad =
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--endpoint",
            "nowhere",
            "--token-file",
            tokenFile.toString());
    assertBadInput(bad, "bad endpoint 'nowhere'");
    assertThat(bad.err()).doesNotContain("t0ken");
    assertThat(admin("sandbox", "delete", "vm1").status()).isZero();
  }

  @Test
  void e2bSandboxIsItsEnvdUrlAndAccessToken() throws Exception {
    admin("owner", "add", "alice", "--key", aliceKey.toString());
    Path tokenFile = Files.writeString(tmp.resolve("envd-token"), "envd-Secret\n");
    Run byId =
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--e2b-id",
            "i7x2k9",
            "--token-file",
            tokenFile.toString());
    assertThat(byId.status()).as(byId.toString()).isZero();
    // The E2B id is the default SSH name, so that `ssh i7x2k9@gateway` reaches it.
    assertThat(byId.out()).isEqualTo("i7x2k9\n");
    Run direct =
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--id",
            "self",
            "--provider",
            "e2b",
            "--envd-url",
            "http://10.0.0.5:49983",
            "--token-file",
            tokenFile.toString());
    assertThat(direct.status()).as(direct.toString()).isZero();
    assertThat(admin("sandbox", "list").out())
        .contains("i7x2k9  alice  e2b")
        .contains("self    alice  e2b")
        .doesNotContain("envd-Secret");
    try (JdbcOwnershipStore store = JdbcOwnershipStore.open(data.resolve("gateway.db"))) {
      SandboxRecord e2b = store.findSandbox("i7x2k9").orElseThrow();
      assertThat(e2b.provider()).isEqualTo(SandboxRecord.Provider.E2B);
      assertThat(e2b.endpoint()).isEqualTo("https://49983-i7x2k9.e2b.app");
      assertThat(e2b.token()).isEqualTo("envd-Secret");
      assertThat(store.findSandbox("self").orElseThrow().endpoint())
          .isEqualTo("http://10.0.0.5:49983");
    }
    String token = tokenFile.toString();
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--provider", "e2b", "--token-file", token),
        "needs one of --e2b-id ID and --envd-url URL");
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--e2b-id", "abc"),
        "needs --token-file FILE");
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--e2b-id", "Bad.Id", "--token-file", token),
        "not an E2B sandbox id");
    assertBadInput(
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--e2b-id",
            "abc",
            "--domain",
            "x/y",
            "--token-file",
            token),
        "not a domain name");
    assertBadInput(
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--envd-url",
            "http://h:1/redirect?x",
            "--token-file",
            token),
        "bad envd URL");
    assertBadInput(
        admin(
            "sandbox",
            "create",
            "--owner",
            "alice",
            "--envd-url",
            "ftp://h:1",
            "--token-file",
            token),
        "bad envd URL");
    assertBadInput(
        admin("sandbox", "create", "--owner", "alice", "--provider", "remote", "--e2b-id", "abc"),
        "go with --provider e2b");
  }

  @Test
  void removingAnOwnerRemovesItsLocalSandboxDirectories() {
    admin("owner", "add", "alice", "--key", aliceKey.toString());
    admin("sandbox", "create", "--owner", "alice", "--id", "a1");
    assertThat(data.resolve("sandboxes/a1")).isDirectory();
    Run r = admin("owner", "remove", "alice");
    assertThat(r.out()).isEqualTo("removed owner alice and 1 sandbox\n");
    assertThat(data.resolve("sandboxes/a1")).doesNotExist();
    assertThat(admin("sandbox", "list").out().lines()).hasSize(1);
  }

  @Test
  void serveIsTheDefaultAndAppliesFlagsOverTheConfig() throws Exception {
    assertThat(run().status()).isZero();
    assertThat(served.get()).isEqualTo(GatewayConfig.defaults());

    Path config = Files.writeString(tmp.resolve("g.yaml"), "port: 2300\nhost: 0.0.0.0\n");
    Run r = run("--config", config.toString(), "--port", "0", "--data-dir", data.toString());
    assertThat(r.status()).as(r.toString()).isZero();
    assertThat(served.get().port()).isZero();
    assertThat(served.get().host()).isEqualTo("0.0.0.0");
    assertThat(served.get().dataDir()).isEqualTo(data);

    assertThat(run("serve", "--keys-dir", "/k").status()).isZero();
    assertThat(served.get().keysDir()).isEqualTo(Path.of("/k"));
  }

  @Test
  void badServeInput() throws Exception {
    assertBadInput(run("--port", "70000"), "port: must be 0..65535");
    assertBadInput(run("--port", "x"), "--port");
    Path config =
        Files.writeString(tmp.resolve("g.yaml"), "prot: 1\nagent: {connect-timeout: x}\n");
    assertBadInput(run("serve", "--config", config.toString()), "prot: unknown setting");
    assertBadInput(run("serve", "--config", config.toString()), "agent.connect-timeout");
    assertBadInput(run("serve", "--config", tmp.resolve("none.yaml").toString()), "cannot read");
    assertBadInput(run("frobnicate"), "frobnicate");
    assertBadInput(run("owner"), "give a command");
  }

  @Test
  void adminCommandsFindTheDataDirInTheConfig() throws Exception {
    Path config = Files.writeString(tmp.resolve("g.yaml"), "data-dir: " + data + "\n");
    Run r =
        run("owner", "add", "alice", "--key", aliceKey.toString(), "--config", config.toString());
    assertThat(r.status()).as(r.toString()).isZero();
    assertThat(data.resolve("gateway.db")).exists();
  }

  @Test
  void helpEverywhereExitsZero() {
    for (String[] args :
        List.of(
            new String[] {"--help"},
            new String[] {"serve", "--help"},
            new String[] {"owner", "--help"},
            new String[] {"owner", "add", "--help"},
            new String[] {"owner", "list", "--help"},
            new String[] {"owner", "remove", "--help"},
            new String[] {"sandbox", "--help"},
            new String[] {"sandbox", "create", "--help"},
            new String[] {"sandbox", "list", "--help"},
            new String[] {"sandbox", "delete", "--help"})) {
      Run r = run(args);
      assertThat(r.status()).as(String.join(" ", args)).isZero();
      assertThat(r.out()).contains("Usage:");
    }
    assertThat(run("--help").out()).contains("serve", "owner", "sandbox");
    assertThat(run("sandbox", "create", "--help").out()).contains("--token-file", "--data-dir");
  }
}
