package dev.sandboxssh.gateway;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.AgentServer;
import dev.sandboxssh.agent.ListenAddress;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.routing.RemoteSandboxProvider;
import dev.sandboxssh.gateway.routing.SandboxResolver;
import dev.sandboxssh.gateway.server.GatewayServer;
import dev.sandboxssh.gateway.store.JdbcOwnershipStore;
import dev.sandboxssh.gateway.store.PublicKeys;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.helpers.AbstractConnectionService;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.session.ServerSession;

/**
 * The gateway's real SSH server in this JVM, on a loopback port, in front of a real agent (also in
 * this JVM, on a unix socket) confined with {@code --root} to a sandbox directory, and MINA's
 * client logged in to that sandbox: what the fuzz targets of the session channel and of SFTP drive.
 *
 * <p>Unlike the end-to-end fixture it needs no bubblewrap, no agent process and no ssh-keygen: the
 * sandbox is a remote one whose endpoint is the in-JVM agent. Layout under a fresh temp dir: {@code
 * sandbox/} (the root and home), {@code outside/} beside it with {@link #SECRET} in {@code
 * secret.txt}, the agent's socket, and the gateway's data and keys.
 */
public final class InProcessGateway implements AutoCloseable {
  /** The sandbox id, also the SSH user name. */
  public static final String SANDBOX = "fz";

  /** The content of the file beside the sandbox that nothing may read. */
  public static final String SECRET = "host-secret-7f3a9c";

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final Path dir;
  private final Path sandboxDir;
  private final Path outsideDir;
  private final AgentServer agent;
  private final JdbcOwnershipStore store;
  private final SshServer sshd;
  private final GatewayServer gateway;
  private final SshClient client;
  private final KeyPair key;
  private ClientSession session;

  private InProcessGateway(GatewayConfig config, Path dir) throws Exception {
    this.dir = dir;
    sandboxDir = Files.createDirectories(dir.resolve("sandbox")).toRealPath();
    outsideDir = Files.createDirectories(dir.resolve("outside")).toRealPath();
    Files.writeString(outsideDir.resolve("secret.txt"), SECRET);
    Path socket = dir.resolve("agent.sock");
    String token = "fuzz-token";
    agent =
        AgentServer.listen(
            new ListenAddress.Unix(socket), new AgentConfig(token, sandboxDir, sandboxDir));

    KeyPair key = KeyUtils.generateKeyPair(KeyPairProvider.ECDSA_SHA2_NISTP256, 256);
    store = JdbcOwnershipStore.open(dir.resolve("gateway.db"));
    store.addOwner("fuzzer", List.of(PublicKeys.ownerKey(key.getPublic(), "fuzzer")));
    store.createSandbox(
        new SandboxRecord(
            SANDBOX,
            "fuzzer",
            SandboxRecord.Provider.REMOTE,
            "unix:" + socket,
            token,
            SandboxRecord.State.CREATED,
            Instant.now()));

    sshd = GatewayServer.defaultSshServer();
    gateway =
        new GatewayServer(
            sshd,
            config.withOverrides("127.0.0.1", 0, dir.resolve("data"), dir.resolve("keys")),
            store,
            new SandboxResolver(
                Map.of(
                    SandboxRecord.Provider.REMOTE,
                    RemoteSandboxProvider.agents(Duration.ofSeconds(10)))),
            GatewayEvents.NONE);
    gateway.start();

    client = SshClient.setUpDefaultClient();
    client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
    // Without it every channel close waits out a delayed ACK (40 ms on loopback).
    CoreModuleProperties.TCP_NODELAY.set(client, true);
    client.start();
    this.key = key;
    session = login();
  }

  private ClientSession login() throws IOException {
    ClientSession s =
        client.connect(SANDBOX, "127.0.0.1", gateway.port()).verify(TIMEOUT).getSession();
    s.addPublicKeyIdentity(key);
    s.auth().verify(TIMEOUT);
    return s;
  }

  /** Starts one with {@code config} (its host, port and directories are replaced) in a new dir. */
  public static InProcessGateway start(GatewayConfig config) throws Exception {
    Path dir = Files.createTempDirectory("fuzz-gateway").toRealPath();
    try {
      return new InProcessGateway(config, dir);
    } catch (Exception | Error e) {
      deleteTree(dir);
      throw e;
    }
  }

  /** The sandbox's directory: its root and home. */
  public Path sandboxDir() {
    return sandboxDir;
  }

  /** The directory beside the sandbox that holds the secret. */
  public Path outsideDir() {
    return outsideDir;
  }

  /**
   * The logged-in client session; a new one when an earlier input ended the last (that input has
   * failed already, and the next must not fail for it too).
   */
  public synchronized ClientSession session() throws IOException {
    if (!session.isOpen()) {
      session = login();
    }
    return session;
  }

  /** The gateway's side of the channel that {@code client} knows by {@code recipient}. */
  public ChannelSession serverChannel(ClientSession client, long recipient) {
    SocketAddress from = client.getIoSession().getLocalAddress();
    List<ServerSession> sessions =
        sshd.getActiveSessions().stream()
            .map(ServerSession.class::cast)
            .filter(s -> from.equals(s.getClientAddress()))
            .toList();
    for (ServerSession s : sessions) {
      AbstractConnectionService service =
          (AbstractConnectionService) s.getService(ConnectionService.class);
      for (var channel : service.getChannels()) {
        if (channel.getChannelId() == recipient && channel instanceof ChannelSession cs) {
          return cs;
        }
      }
    }
    throw new IllegalStateException("no server channel " + recipient);
  }

  @Override
  public void close() throws IOException {
    try {
      client.stop();
      gateway.close();
      agent.close();
      store.close();
    } finally {
      deleteTree(dir);
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: it lies under target/tmp
    }
  }
}
