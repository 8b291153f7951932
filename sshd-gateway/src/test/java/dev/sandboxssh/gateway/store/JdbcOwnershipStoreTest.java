package dev.sandboxssh.gateway.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.gateway.store.SandboxRecord.Provider;
import dev.sandboxssh.gateway.store.SandboxRecord.State;
import dev.sandboxssh.gateway.store.StoreException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JdbcOwnershipStoreTest {
  /** The last migration under db/migration. */
  private static final int LATEST_SCHEMA = 4;

  /** The statements of a migration file, as Flyway runs them. */
  private static List<String> migration(String name) throws Exception {
    try (var in = JdbcOwnershipStore.class.getResourceAsStream("/db/migration/" + name)) {
      String sql = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      String code = String.join("\n", sql.lines().filter(l -> !l.startsWith("--")).toList());
      return java.util.Arrays.stream(code.split(";")).filter(st -> !st.isBlank()).toList();
    }
  }

  @TempDir Path dir;
  private Path db;
  private JdbcOwnershipStore store;
  private OwnerKey aliceKey;
  private OwnerKey bobKey;

  @BeforeEach
  void open() throws Exception {
    db = dir.resolve("gateway.db");
    store = JdbcOwnershipStore.open(db);
    aliceKey = key("alice");
    bobKey = key("bob");
  }

  @AfterEach
  void close() {
    store.close();
  }

  private OwnerKey key(String name) throws Exception {
    Path pub = TestKeys.generate(dir, name, "ed25519", name + "@test");
    return PublicKeys.readFile(pub).get(0).ownerKey();
  }

  private static SandboxRecord local(String id, String owner) {
    return new SandboxRecord(id, owner, Provider.LOCAL, null, null, null, null);
  }

  private static Reason reasonOf(Runnable r) {
    try {
      r.run();
    } catch (StoreException e) {
      return e.reason();
    }
    throw new AssertionError("no StoreException");
  }

  @Test
  void ownersRoundTrip() {
    assertThat(store.isEmpty()).isTrue();
    Owner alice = store.addOwner("alice", List.of(aliceKey, bobKey, aliceKey));
    assertThat(alice.keys()).containsExactly(aliceKey, bobKey);
    store.addOwner("bob", List.of(bobKey)); // one key may belong to two owners
    assertThat(store.isEmpty()).isFalse();

    assertThat(store.findOwner("alice")).contains(alice);
    assertThat(store.findOwner("carol")).isEmpty();
    assertThat(store.findOwner("../x")).isEmpty();
    assertThat(store.listOwners()).extracting(Owner::name).containsExactly("alice", "bob");
    assertThat(store.listOwners().get(0).keys()).containsExactly(aliceKey, bobKey);

    store.removeOwner("bob");
    assertThat(store.listOwners()).extracting(Owner::name).containsExactly("alice");
  }

  @Test
  void ownerRefusals() {
    store.addOwner("alice", List.of(aliceKey));
    assertThat(reasonOf(() -> store.addOwner("alice", List.of(bobKey)))).isEqualTo(Reason.CONFLICT);
    assertThat(reasonOf(() -> store.addOwner("Alice", List.of(bobKey)))).isEqualTo(Reason.INVALID);
    assertThat(reasonOf(() -> store.addOwner("-x", List.of(bobKey)))).isEqualTo(Reason.INVALID);
    assertThat(reasonOf(() -> store.addOwner("a".repeat(33), List.of(bobKey))))
        .isEqualTo(Reason.INVALID);
    assertThat(reasonOf(() -> store.addOwner("bob", List.of()))).isEqualTo(Reason.INVALID);
    // A fingerprint that is not the key's own never reaches the table.
    OwnerKey forged = new OwnerKey(aliceKey.fingerprint(), bobKey.authorizedKey());
    assertThat(reasonOf(() -> store.addOwner("bob", List.of(forged)))).isEqualTo(Reason.INVALID);
    assertThat(reasonOf(() -> store.removeOwner("nobody"))).isEqualTo(Reason.NOT_FOUND);
    assertThat(store.listOwners()).extracting(Owner::name).containsExactly("alice");
  }

  @Test
  void sandboxesRoundTrip() {
    store.addOwner("alice", List.of(aliceKey));
    SandboxRecord demo = store.createSandbox(local("demo", "alice"));
    assertThat(demo.state()).isEqualTo(State.CREATED);
    assertThat(demo.created()).isNotNull();
    SandboxRecord remote =
        store.createSandbox(
            new SandboxRecord(
                "vm-1", "alice", Provider.REMOTE, "10.0.0.5:49983", "s3cret", null, null));
    SandboxRecord generated = store.createSandbox(local(null, "alice"));
    assertThat(generated.id()).matches("sbx-[a-z2-7]{8}");
    assertThat(Names.isSandboxId(generated.id())).isTrue();

    assertThat(store.findSandbox("demo")).contains(demo);
    assertThat(store.findSandbox("vm-1")).contains(remote);
    assertThat(store.findSandbox("vm-1").get().token()).isEqualTo("s3cret");
    assertThat(store.findSandbox("vm-1").get().toString()).doesNotContain("s3cret");
    assertThat(store.findSandbox("nope")).isEmpty();
    assertThat(store.listSandboxes())
        .extracting(SandboxRecord::id)
        .containsExactly("demo", generated.id(), "vm-1");

    store.updateState("demo", State.RUNNING);
    assertThat(store.findSandbox("demo").get().state()).isEqualTo(State.RUNNING);
    store.updateState("gone", State.STOPPED); // deleted meanwhile: nothing to record

    store.deleteSandbox("demo");
    assertThat(store.findSandbox("demo")).isEmpty();
    assertThat(reasonOf(() -> store.deleteSandbox("demo"))).isEqualTo(Reason.NOT_FOUND);
  }

  @Test
  void sandboxRefusals() {
    store.addOwner("alice", List.of(aliceKey));
    store.createSandbox(local("demo", "alice"));
    assertThat(reasonOf(() -> store.createSandbox(local("demo", "alice"))))
        .isEqualTo(Reason.CONFLICT);
    assertThat(reasonOf(() -> store.createSandbox(local("x", "carol"))))
        .isEqualTo(Reason.NOT_FOUND);
    for (String bad : List.of("Demo", "-x", "x-", "a_b", "a.b", "../x", "", "x".repeat(64))) {
      assertThat(reasonOf(() -> store.createSandbox(local(bad, "alice"))))
          .as(bad)
          .isEqualTo(Reason.INVALID);
    }
    assertThat(store.createSandbox(local("x".repeat(63), "alice")).id()).hasSize(63);
    for (String endpoint : List.of("nohost", "host:0", "host:70000", "unix:relative", ":22")) {
      assertThat(
              reasonOf(
                  () ->
                      store.createSandbox(
                          new SandboxRecord(
                              "r", "alice", Provider.REMOTE, endpoint, "t", null, null))))
          .as(endpoint)
          .isEqualTo(Reason.INVALID);
    }
    assertThat(
            reasonOf(
                () ->
                    store.createSandbox(
                        new SandboxRecord(
                            "r", "alice", Provider.REMOTE, "h:1", "two words", null, null))))
        .isEqualTo(Reason.INVALID);
    assertThat(
            reasonOf(
                () ->
                    store.createSandbox(
                        new SandboxRecord("r", "alice", Provider.LOCAL, "h:1", "t", null, null))))
        .isEqualTo(Reason.INVALID);
    for (String endpoint : List.of("h:1", "[::1]:5000", "agent.example.com:443", "unix:/run/a")) {
      store.createSandbox(
          new SandboxRecord(
              "r" + store.listSandboxes().size(),
              "alice",
              Provider.REMOTE,
              endpoint,
              "t",
              null,
              null));
    }
  }

  @Test
  void anOwnerNameAndASandboxIdAreNeverEqual() {
    store.addOwner("alice", List.of(aliceKey));
    store.createSandbox(local("demo", "alice"));
    assertThat(reasonOf(() -> store.createSandbox(local("alice", "alice"))))
        .isEqualTo(Reason.CONFLICT);
    assertThat(reasonOf(() -> store.addOwner("demo", List.of(bobKey)))).isEqualTo(Reason.CONFLICT);
    assertThat(store.findSandbox("alice")).isEmpty();
    assertThat(store.findOwner("demo")).isEmpty();
  }

  @Test
  void removingAnOwnerRemovesItsKeysAndSandboxes() throws Exception {
    store.addOwner("alice", List.of(aliceKey));
    store.addOwner("bob", List.of(bobKey));
    store.createSandbox(local("a1", "alice"));
    store.createSandbox(local("b1", "bob"));
    store.removeOwner("alice");
    assertThat(store.listSandboxes()).extracting(SandboxRecord::id).containsExactly("b1");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM owner_keys WHERE owner = 'alice'")) {
      rs.next();
      assertThat(rs.getInt(1)).isZero();
    }
  }

  @Test
  void aSecondInstanceSeesWritesAtOnce() {
    try (JdbcOwnershipStore other = JdbcOwnershipStore.open(db)) {
      // Read first, so any caching would show up as a stale answer below.
      assertThat(store.findOwner("alice")).isEmpty();
      assertThat(store.findSandbox("demo")).isEmpty();
      other.addOwner("alice", List.of(aliceKey));
      other.createSandbox(local("demo", "alice"));
      assertThat(store.findOwner("alice")).isPresent();
      assertThat(store.findSandbox("demo")).isPresent();
      store.removeOwner("alice");
      assertThat(other.findOwner("alice")).isEmpty();
      assertThat(other.findSandbox("demo")).isEmpty();
      assertThat(other.isEmpty()).isTrue();
    }
  }

  @Test
  void concurrentWritersFromTwoInstancesAllSucceed() throws Exception {
    store.addOwner("alice", List.of(aliceKey));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try (JdbcOwnershipStore other = JdbcOwnershipStore.open(db)) {
      List<Future<?>> futures = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        OwnershipStore s = i % 2 == 0 ? store : other;
        String id = "s" + i;
        futures.add(pool.submit(() -> s.createSandbox(local(id, "alice"))));
        futures.add(pool.submit(() -> s.findOwner("alice").orElseThrow()));
      }
      for (Future<?> f : futures) {
        f.get();
      }
      assertThat(other.listSandboxes()).hasSize(40);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void databaseIsPrivateAndInWalMode() throws Exception {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(db)))
        .isEqualTo("rw-------");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("wal");
    }
    assertThat(store.migratedFrom()).isZero();
  }

  @Test
  void anOldDatabaseIsMigratedWithItsRows() throws Exception {
    store.close();
    Path old = dir.resolve("old.db");
    // What a version-1 gateway wrote.
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + old);
        Statement st = c.createStatement()) {
      st.executeUpdate("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      st.executeUpdate("INSERT INTO schema_version VALUES (1)");
      for (String ddl : migration("V1__tables.sql")) {
        st.executeUpdate(ddl);
      }
      st.executeUpdate("INSERT INTO owners VALUES ('alice', '2026-01-02T03:04:05Z')");
      st.executeUpdate(
          "INSERT INTO owner_keys VALUES ('alice', '"
              + aliceKey.fingerprint()
              + "', '"
              + aliceKey.authorizedKey()
              + "')");
      st.executeUpdate(
          "INSERT INTO sandboxes VALUES ('demo', 'alice', 'local', NULL, NULL, 'created',"
              + " '2026-01-02T03:04:06Z')");
    }
    store = JdbcOwnershipStore.open(old);
    assertThat(store.migratedFrom()).isEqualTo(1);
    assertThat(store.findOwner("alice").get().keys()).containsExactly(aliceKey);
    assertThat(store.findSandbox("demo").get().owner()).isEqualTo("alice");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + old);
        Statement st = c.createStatement()) {
      // Baselined at 1 by Flyway, migrated to the latest; the hand-rolled table is gone.
      try (ResultSet rs =
          st.executeQuery(
              "SELECT MAX(CAST(version AS INTEGER)) FROM flyway_schema_history WHERE success")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(LATEST_SCHEMA);
      }
      try (ResultSet rs =
          st.executeQuery("SELECT name FROM sqlite_master WHERE name = 'schema_version'")) {
        assertThat(rs.next()).isFalse();
      }
      try (ResultSet rs =
          st.executeQuery("SELECT name FROM sqlite_master WHERE name = 'sandboxes_by_owner'")) {
        assertThat(rs.next()).isTrue();
      }
    }
    // Opening again changes nothing.
    store.close();
    store = JdbcOwnershipStore.open(old);
    assertThat(store.migratedFrom()).isEqualTo(LATEST_SCHEMA);
  }

  @Test
  void aNewerDatabaseIsRefused() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
        Statement st = c.createStatement()) {
      st.executeUpdate(
          "INSERT INTO flyway_schema_history (installed_rank, version, description, type,"
              + " script, checksum, installed_by, installed_on, execution_time, success)"
              + " VALUES (99, '99', 'future', 'SQL', 'V99__future.sql', 0, 'newer gateway',"
              + " '2030-01-01 00:00:00', 0, 1)");
    }
    assertThatThrownBy(() -> JdbcOwnershipStore.open(db))
        .isInstanceOfSatisfying(
            StoreException.class, e -> assertThat(e.reason()).isEqualTo(Reason.IO))
        .hasMessageContaining("schema version 99");
  }

  @Test
  void onlyPlainSqliteFileUrls() {
    assertThat(reasonOf(() -> JdbcOwnershipStore.open("jdbc:mysql://x/y", null)))
        .isEqualTo(Reason.INVALID);
    assertThat(reasonOf(() -> JdbcOwnershipStore.open("jdbc:sqlite::memory:", null)))
        .isEqualTo(Reason.INVALID);
    try (JdbcOwnershipStore s = JdbcOwnershipStore.open("jdbc:sqlite:" + db, null)) {
      assertThat(s.isEmpty()).isTrue();
    }
  }
}
