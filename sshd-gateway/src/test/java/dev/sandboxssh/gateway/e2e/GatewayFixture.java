package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.app.GatewayApp;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.store.OwnerKey;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.digest.BuiltinDigests;

/**
 * A gateway in this JVM on a free loopback port, with its real local provider (agents are real
 * processes, under bubblewrap, from the packaged jar: see {@link PackagedAgents}), an owner {@code
 * alice} with a fresh ed25519 key, and her sandbox {@code demo}. {@link #ssh()} drives it with the
 * OpenSSH client.
 */
public final class GatewayFixture implements AutoCloseable {
  public static final String OWNER = "alice";
  public static final String SANDBOX = "demo";

  private final Path dir;
  private final GatewayConfig config;
  private final Path aliceKey;
  private GatewayApp app;

  private GatewayFixture(Path dir, GatewayConfig config) throws IOException {
    this.dir = dir;
    this.config = config;
    this.app = PackagedAgents.start(config);
    this.aliceKey = addOwner(OWNER);
    addSandbox(SANDBOX, OWNER);
  }

  /** Starts a gateway with test defaults under {@code dir}. */
  public static GatewayFixture start(Path dir) throws IOException {
    return start(dir, Timeouts.AGENT_CONNECT.multipliedBy(4), GatewayConfig.Isolation.REQUIRED);
  }

  /** Starts a gateway under {@code dir} with this agent connect timeout and isolation mode. */
  public static GatewayFixture start(
      Path dir, Duration connectTimeout, GatewayConfig.Isolation isolation) throws IOException {
    return start(
        dir,
        connectTimeout,
        isolation,
        GatewayConfig.defaults().forwarding(),
        GatewayConfig.defaults().keepalive());
  }

  /** Starts a gateway with test defaults but this forwarding policy and these keepalives. */
  public static GatewayFixture start(
      Path dir, GatewayConfig.Forwarding forwarding, GatewayConfig.Keepalive keepalive)
      throws IOException {
    return start(
        dir,
        Timeouts.AGENT_CONNECT.multipliedBy(4),
        GatewayConfig.Isolation.REQUIRED,
        forwarding,
        keepalive);
  }

  /**
   * Starts a gateway with test defaults but this idle timeout for local agents and these named
   * session settings.
   */
  public static GatewayFixture start(
      Path dir, Duration idleTimeout, GatewayConfig.Sessions sessions) throws IOException {
    GatewayConfig d = GatewayConfig.defaults();
    GatewayConfig c =
        config(
            dir,
            Timeouts.AGENT_CONNECT.multipliedBy(4),
            GatewayConfig.Isolation.REQUIRED,
            d.forwarding(),
            d.keepalive(),
            d.local().limits());
    return new GatewayFixture(
        dir, c.withLocal(c.local().withIdleTimeout(idleTimeout)).withSessions(sessions));
  }

  /** Starts a gateway with test defaults but these limits for every local sandbox. */
  public static GatewayFixture start(Path dir, GatewayConfig.SandboxLimits limits)
      throws IOException {
    return start(
        dir,
        Timeouts.AGENT_CONNECT.multipliedBy(4),
        GatewayConfig.Isolation.REQUIRED,
        GatewayConfig.defaults().forwarding(),
        GatewayConfig.defaults().keepalive(),
        limits);
  }

  private static GatewayFixture start(
      Path dir,
      Duration connectTimeout,
      GatewayConfig.Isolation isolation,
      GatewayConfig.Forwarding forwarding,
      GatewayConfig.Keepalive keepalive)
      throws IOException {
    return start(
        dir,
        connectTimeout,
        isolation,
        forwarding,
        keepalive,
        GatewayConfig.defaults().local().limits());
  }

  private static GatewayFixture start(
      Path dir,
      Duration connectTimeout,
      GatewayConfig.Isolation isolation,
      GatewayConfig.Forwarding forwarding,
      GatewayConfig.Keepalive keepalive,
      GatewayConfig.SandboxLimits limits)
      throws IOException {
    return new GatewayFixture(
        dir, config(dir, connectTimeout, isolation, forwarding, keepalive, limits));
  }

  private static GatewayConfig config(
      Path dir,
      Duration connectTimeout,
      GatewayConfig.Isolation isolation,
      GatewayConfig.Forwarding forwarding,
      GatewayConfig.Keepalive keepalive,
      GatewayConfig.SandboxLimits limits) {
    GatewayConfig d = GatewayConfig.defaults();
    return new GatewayConfig(
        "127.0.0.1",
        0,
        dir.resolve("data"),
        dir.resolve("keys"),
        null,
        null,
        Duration.ZERO,
        d.hostKeys(),
        new GatewayConfig.Agent(connectTimeout),
        d.local()
            .withIdleTimeout(Duration.ofMinutes(5))
            .withIsolation(isolation)
            .withLimits(limits)
            // On when PackagedAgents has the cache trained once for this JVM: a training run per
            // gateway would cost seconds of CPU each.
            .withStartupCache(false)
            // Off but in SpareAgentTest: a spare is an idle agent JVM per gateway, started as the
            // gateway starts, and most tests want their sandbox's own start.
            .withSpareAgents(0),
        d.env(),
        d.limits(),
        forwarding,
        keepalive,
        d.sftp(),
        d.sessions(),
        testPreAuth(d.preAuth()),
        d.auth(),
        d.metrics(),
        d.audit(),
        d.shutdown(),
        d.kubernetes());
  }

  /**
   * The gateway's pre-auth defences, loosened for loopback: many tests refuse logins on purpose
   * from 127.0.0.1, and some open dozens of connections at once. {@code PreAuthTest} checks the
   * defaults from other loopback addresses (127.0.0.2 and up).
   */
  private static GatewayConfig.PreAuth testPreAuth(GatewayConfig.PreAuth d) {
    GatewayConfig.Penalties p = d.penalties();
    return new GatewayConfig.PreAuth(
        d.graceTime(),
        new GatewayConfig.MaxStartups(64, 30, 256),
        new GatewayConfig.Penalties(
            p.enabled(),
            p.authFailure(),
            p.noAuth(),
            p.graceExceeded(),
            p.min(),
            p.max(),
            List.of("127.0.0.1")));
  }

  /** Starts a gateway with test defaults under {@code dir}, changed by {@code change}. */
  public static GatewayFixture start(Path dir, UnaryOperator<GatewayConfig> change)
      throws IOException {
    return new GatewayFixture(
        dir,
        change.apply(
            config(
                dir,
                Timeouts.AGENT_CONNECT.multipliedBy(4),
                GatewayConfig.Isolation.REQUIRED,
                GatewayConfig.defaults().forwarding(),
                GatewayConfig.defaults().keepalive(),
                GatewayConfig.defaults().local().limits())));
  }

  /** The running gateway. */
  public GatewayApp app() {
    return app;
  }

  /** The config it runs with. */
  public GatewayConfig config() {
    return config;
  }

  /** The port it listens on. */
  public int port() {
    return app.port();
  }

  /** An OpenSSH client logged in as alice. */
  public OpenSsh ssh() {
    return new OpenSsh("127.0.0.1", port(), aliceKey, dir.resolve("known_hosts"));
  }

  /** Alice's private key. */
  public Path aliceKey() {
    return aliceKey;
  }

  /** The host directory of a local sandbox (its home inside). */
  public Path sandboxDir(String id) {
    return config.dataDir().resolve("sandboxes").resolve(id);
  }

  /**
   * Writes {@code bytes} to {@code relative} in local sandbox {@code id}'s directory from the host,
   * owned by the sandbox's uid, as if the sandbox had written it: a file the test writes as root
   * would be someone else's inside.
   */
  public Path writeInSandbox(String id, String relative, byte[] bytes) throws IOException {
    Path file = sandboxDir(id).resolve(relative);
    Files.write(file, bytes);
    Object uid = Files.getAttribute(sandboxDir(id), "unix:uid");
    Files.setAttribute(file, "unix:uid", uid);
    Files.setAttribute(file, "unix:gid", Files.getAttribute(sandboxDir(id), "unix:gid"));
    return file;
  }

  /** Creates an owner with a fresh ed25519 key and returns the private key's path. */
  public Path addOwner(String name) throws IOException {
    Path key = newKey(name);
    app.store().addOwner(name, List.of(ownerKey(key.resolveSibling(name + ".pub"))));
    return key;
  }

  /** Creates a local sandbox. */
  public void addSandbox(String id, String owner) {
    app.store()
        .createSandbox(
            new SandboxRecord(
                id,
                owner,
                SandboxRecord.Provider.LOCAL,
                null,
                null,
                SandboxRecord.State.CREATED,
                Instant.now()));
  }

  /** Creates a remote sandbox whose agent is at {@code endpoint}. */
  public void addRemoteSandbox(String id, String owner, String endpoint, String token) {
    app.store()
        .createSandbox(
            new SandboxRecord(
                id,
                owner,
                SandboxRecord.Provider.REMOTE,
                endpoint,
                token,
                SandboxRecord.State.CREATED,
                Instant.now()));
  }

  /** Creates an e2b sandbox reached through the envd at {@code envdUrl}. */
  public void addE2bSandbox(String id, String owner, String envdUrl, String token) {
    app.store()
        .createSandbox(
            new SandboxRecord(
                id,
                owner,
                SandboxRecord.Provider.E2B,
                envdUrl,
                token,
                SandboxRecord.State.CREATED,
                Instant.now()));
  }

  /** A fresh ed25519 key pair made by ssh-keygen: {@code dir/NAME} and {@code dir/NAME.pub}. */
  public Path newKey(String name) {
    return newKey(dir, name);
  }

  /** A fresh ed25519 key pair made by ssh-keygen: {@code dir/NAME} and {@code dir/NAME.pub}. */
  public static Path newKey(Path dir, String name) {
    Path key = dir.resolve(name);
    OpenSsh.Result result =
        OpenSsh.run(
            List.of(
                OpenSsh.binary("ssh-keygen"),
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                name,
                "-f",
                key.toString()),
            new byte[0],
            Timeouts.COMMAND);
    assertThat(result.exitCode()).as("ssh-keygen: %s", result.stderr()).isZero();
    return key;
  }

  /** The fingerprint and line of a public key file, as the store keeps them. */
  public static OwnerKey ownerKey(Path publicKeyFile) throws IOException {
    String line = Files.readString(publicKeyFile, StandardCharsets.UTF_8).strip();
    try {
      PublicKey key =
          AuthorizedKeyEntry.parseAuthorizedKeyEntry(line)
              .resolvePublicKey(null, PublicKeyEntryResolver.FAILING);
      return new OwnerKey(KeyUtils.getFingerPrint(BuiltinDigests.sha256, key), line);
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
  }

  /** Stops the gateway and starts it again on the same data and keys dirs and port. */
  public void restart() throws IOException {
    int port = port();
    app.close();
    app = PackagedAgents.start(config.withOverrides(null, port, null, null));
  }

  @Override
  public void close() {
    app.close();
  }
}
