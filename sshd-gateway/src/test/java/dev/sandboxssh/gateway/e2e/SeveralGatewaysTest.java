package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.app.GatewayApp;
import dev.sandboxssh.gateway.store.JdbcOwnershipStore;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.gateway.store.StoreException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateways on one real PostgreSQL database (and one keys dir) serving the same sandbox, as
 * behind a TCP load balancer: the same host key, and a change made through one honoured by the
 * other within its cache time. Also the store's contract on PostgreSQL itself.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SeveralGatewaysTest {
  private static final Duration CACHE = Duration.ofSeconds(1);

  @TempDir static Path dir;
  static PostgresServer postgres;
  static StandaloneAgent agent;
  static GatewayFixture first;
  static GatewayApp second;

  @BeforeAll
  static void start() throws Exception {
    postgres = PostgresServer.start();
    postgres.createDatabase("gateways");
    String url = postgres.url("gateways");
    first =
        GatewayFixture.start(
            dir.resolve("a"), c -> c.withDatabase(url, postgres.passwordFile(), CACHE));
    // Same database and keys dir, its own data dir and port.
    second =
        GatewayApp.start(
            first.config().withOverrides(null, 0, dir.resolve("b").resolve("data"), null));
    agent = StandaloneAgent.start(dir.resolve("agent"));
    first.addRemoteSandbox("shared", GatewayFixture.OWNER, agent.endpoint(), agent.token());
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {second, first, agent, postgres}) {
      if (c != null) {
        c.close();
      }
    }
  }

  private static OpenSsh clientOf(int port, Path key) {
    return new OpenSsh("127.0.0.1", port, key, dir.resolve("known_hosts-" + port));
  }

  @Test
  void bothGatewaysServeTheSameSandboxWithTheSameHostKey() throws Exception {
    Path marker = dir.resolve("marker-" + System.nanoTime());
    OpenSsh.Result write =
        clientOf(first.port(), first.aliceKey()).ssh("shared", "echo from-first > " + marker);
    assertThat(write.exitCode()).as(write.stderr()).isZero();
    Eventually.until(
        "the second gateway sees the sandbox",
        Timeouts.EVENTUALLY,
        () ->
            clientOf(second.port(), first.aliceKey()).ssh("shared", "cat " + marker).exitCode()
                == 0);
    assertThat(clientOf(second.port(), first.aliceKey()).ssh("shared", "cat " + marker).stdout())
        .isEqualTo("from-first\n");
    assertThat(hostKey(second.port())).isEqualTo(hostKey(first.port()));
  }

  @Test
  void anOwnerRemovedThroughOneIsRefusedByTheOther() throws Exception {
    Path bobKey = first.addOwner("bob");
    first.addRemoteSandbox("bobs", "bob", agent.endpoint(), agent.token());
    Eventually.until(
        "bob logs in through the second gateway",
        Timeouts.EVENTUALLY,
        () -> clientOf(second.port(), bobKey).ssh("bobs", "true").exitCode() == 0);
    first.app().store().removeOwner("bob");
    assertThat(clientOf(first.port(), bobKey).ssh("bobs", "true").exitCode()).isEqualTo(255);
    // The other sees it once its cached lookup expires.
    Eventually.until(
        "the second gateway refuses bob",
        CACHE.multipliedBy(10),
        () -> clientOf(second.port(), bobKey).ssh("bobs", "true").exitCode() == 255);
  }

  @Test
  void theStoreOnPostgresqlKeepsItsContract() throws Exception {
    postgres.createDatabase("contract");
    String url = postgres.url("contract");
    String password = java.nio.file.Files.readString(postgres.passwordFile()).strip();
    try (JdbcOwnershipStore one = JdbcOwnershipStore.open(url, password);
        JdbcOwnershipStore two = JdbcOwnershipStore.open(url, password)) {
      assertThat(one.migratedFrom()).isZero();
      assertThat(two.migratedFrom()).isEqualTo(4);
      var key = GatewayFixture.ownerKey(first.aliceKey().resolveSibling("alice.pub"));
      one.addOwner("carol", List.of(key), List.of(key));
      assertThat(two.findOwner("carol").orElseThrow().cas()).containsExactly(key);
      assertThat(reason(() -> two.addOwner("carol", List.of(key))))
          .isEqualTo(StoreException.Reason.CONFLICT);
      one.createSandbox(record("c1", "carol"));
      // An owner's name is never a sandbox id, across instances too.
      assertThat(reason(() -> two.addOwner("c1", List.of(key))))
          .isEqualTo(StoreException.Reason.CONFLICT);
      // Concurrent writers through both instances all succeed.
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          OwnershipStore s = i % 2 == 0 ? one : two;
          String id = "p" + i;
          futures.add(pool.submit(() -> s.createSandbox(record(id, "carol"))));
        }
        for (Future<?> f : futures) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(two.listSandboxes()).hasSize(21);
      two.removeOwner("carol");
      assertThat(one.isEmpty()).isTrue();
    }
  }

  private static SandboxRecord record(String id, String owner) {
    return new SandboxRecord(
        id, owner, SandboxRecord.Provider.LOCAL, null, null, SandboxRecord.State.CREATED, null);
  }

  private static StoreException.Reason reason(Runnable r) {
    try {
      r.run();
    } catch (StoreException e) {
      return e.reason();
    }
    return null;
  }

  private static String hostKey(int port) {
    OpenSsh.Result scan =
        OpenSsh.run(
            List.of(
                OpenSsh.binary("ssh-keyscan"),
                "-p",
                Integer.toString(port),
                "-t",
                "ed25519",
                "127.0.0.1"),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(scan.stdout()).as(scan.stderr()).contains("ssh-ed25519");
    return scan.stdout().replace(Integer.toString(port), "PORT").strip();
  }
}
