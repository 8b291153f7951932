package dev.sandboxssh.gateway.server;

import dev.sandboxssh.gateway.auth.CheckedPublicKeyAuth;
import dev.sandboxssh.gateway.auth.ConnectionCaps;
import dev.sandboxssh.gateway.auth.OffloadedUserAuthServiceFactory;
import dev.sandboxssh.gateway.auth.OwnerKeyAuthenticator;
import dev.sandboxssh.gateway.auth.OwnershipCheck;
import dev.sandboxssh.gateway.auth.RevokedKeys;
import dev.sandboxssh.gateway.bridge.EnvPolicy;
import dev.sandboxssh.gateway.bridge.GatewayChannelSessionFactory;
import dev.sandboxssh.gateway.bridge.SessionCommands;
import dev.sandboxssh.gateway.bridge.files.FileTransfer;
import dev.sandboxssh.gateway.bridge.files.SandboxFileSystemProvider;
import dev.sandboxssh.gateway.bridge.forward.ContextSandbox;
import dev.sandboxssh.gateway.bridge.forward.Forwarding;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.routing.SandboxResolver;
import dev.sandboxssh.gateway.store.OwnershipStore;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.session.helpers.AbstractSession;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.SshServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SSH server users talk to: public-key logins checked against the ownership table, and session
 * channels bridged to the sandbox the SSH user name names.
 *
 * <p>It takes the {@link SshServer} to configure, so that tests can hand in one of their own.
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);

  private final SshServer sshd;
  private final PreAuthGuard preAuth;
  private volatile boolean accepting;
  private final GatewayConfig config;
  private final ExecutorService authLookups;

  /** How long a bridge thread with nothing to do waits for work before it ends. */
  static final Duration BRIDGE_THREAD_KEEP_ALIVE = Duration.ofSeconds(10);

  private final ExecutorService bridgeThreads;
  private final Forwarding forwarding;

  /**
   * A gateway on {@code sshd}, routing logins through {@code store} and {@code resolver}, reporting
   * to {@code events}.
   */
  public GatewayServer(
      SshServer sshd,
      GatewayConfig config,
      OwnershipStore store,
      SandboxResolver resolver,
      GatewayEvents events)
      throws IOException {
    this.sshd = sshd;
    this.config = config;
    // Lookups block on the database; a bounded pool keeps a login storm from piling threads.
    this.authLookups = Executors.newFixedThreadPool(4, named("auth-lookup"));
    // A thread per busy stream, given back soon after its stream parks (ProcessBridge.IDLE_PARK):
    // an idle thread's stack stays resident, and a burst of logins would otherwise leave one per
    // session for a minute.
    this.bridgeThreads =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            BRIDGE_THREAD_KEEP_ALIVE.toSeconds(),
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            named("bridge"));

    sshd.setHost(config.host());
    sshd.setPort(config.port());
    HostKeys hostKeys = HostKeys.loadOrCreate(config.keysDir(), config.hostKeys().rsa());
    sshd.setKeyPairProvider(hostKeys);
    AlgorithmPolicy.apply(sshd);

    // Public key only: no password, keyboard-interactive, GSSAPI or host-based methods.
    sshd.setUserAuthFactories(
        List.of(CheckedPublicKeyAuth.factory(new RevokedKeys(config.auth().revokedKeys()))));
    sshd.setPublickeyAuthenticator(
        new OwnerKeyAuthenticator(
            new OwnershipCheck(store, config.auth().certificatePrincipals())));
    GatewayConfig.Limits limits = config.limits();
    sshd.setServiceFactories(
        List.of(
            new OffloadedUserAuthServiceFactory(
                authLookups,
                new ConnectionCaps(
                    limits.maxConnectionsPerOwner(), limits.maxConnectionsPerSandbox())),
            new ChannelLimits(
                limits.maxSessionsPerConnection(), limits.maxChannelsPerConnection())));
    // Before any other listener: a connection it refuses is closed as it is accepted.
    this.preAuth = new PreAuthGuard(config.preAuth(), events);
    sshd.addSessionListener(preAuth);
    CoreModuleProperties.AUTH_TIMEOUT.set(sshd, config.preAuth().graceTime());
    sshd.setPasswordAuthenticator(null);
    sshd.setKeyboardInteractiveAuthenticator(null);
    sshd.setGSSAuthenticator(null);
    sshd.setHostBasedAuthenticator(null);

    EnvPolicy envPolicy =
        new EnvPolicy(config.env().patterns(), config.limits().maxEnvValueBytes());
    sshd.setChannelFactories(List.of(new GatewayChannelSessionFactory(envPolicy, config.limits())));
    SessionCommands commands = new SessionCommands(store, config.sessions(), bridgeThreads);
    sshd.setShellFactory(commands);
    // scp -t / scp -f are served by the gateway on the sandbox's filesystem API, like sftp;
    // every other command runs in the sandbox.
    FileTransfer.install(sshd, config.sftp(), commands, SandboxFileSystemProvider.shared());
    // -L/-D/-R, unix sockets and -A, all relayed through the sandbox's agent (never sockets on
    // this host); also sets MINA's own forwarding filter to reject everything.
    this.forwarding = new Forwarding(config, ContextSandbox::of);
    forwarding.install(sshd);
    // After forwarding, which sets the global request handlers: every host key, current and next,
    // is announced after login (hostkeys-00@openssh.com) and proven on request.
    HostKeyAnnouncement.install(sshd, hostKeys, bridgeThreads);
    sshd.addSessionListener(new SessionLifecycle(resolver, events));

    // A client that stops reading must only pause its own output, however long it pauses;
    // dead connections are found by keepalives, not by these timeouts. The second is the SFTP
    // reply stream's (and MINA's buffered streams'): at its default of 30 s, an sftp that a user
    // suspended, or that waited on a slow disk, lost its channel where sftp-server would wait.
    CoreModuleProperties.WAIT_FOR_SPACE_TIMEOUT.set(sshd, Duration.ofDays(1));
    CoreModuleProperties.BUFFERED_IO_OUTPUT_MAX_PENDING_WRITE_WAIT.set(sshd, Duration.ofDays(1));
    // The backstop for channels the gateway opens itself (-R); see ChannelLimits.
    CoreModuleProperties.MAX_CONCURRENT_CHANNELS.set(sshd, limits.maxChannelsPerConnection());
    // Keepalives (keepalive@openssh.com with a reply, closing after count-max misses) and
    // keepalive.idle-timeout are the keepalive probe's, installed with forwarding: MINA's server
    // heartbeat only sends SSH_MSG_IGNORE, which detects no dead client, and its idle timeout
    // counts the replies to keepalives as activity, so it would never fire.
    CoreModuleProperties.IDLE_TIMEOUT.set(sshd, Duration.ZERO);
    CoreModuleProperties.SERVER_IDENTIFICATION.set(sshd, "sandbox-ssh");
    // A keystroke's echo is one small packet; with Nagle's algorithm it waits for the ACK of the
    // previous one whenever two are in flight. sshd sets TCP_NODELAY on interactive sessions;
    // bulk transfers lose nothing, since every write here is a whole SSH packet.
    CoreModuleProperties.TCP_NODELAY.set(sshd, true);
  }

  /**
   * MINA's server with its defaults, before this class narrows them; one whose port {@link
   * #stopAccepting} can close while its sessions go on, and whose connections live on event loops
   * ({@link EventLoopTransport}).
   */
  public static SshServer defaultSshServer() {
    SshServer sshd = ServerBuilder.builder().factory(DrainableSshServer::new).build();
    sshd.setIoServiceFactoryFactory(new EventLoopTransport());
    return sshd;
  }

  /** Starts listening. */
  public void start() throws IOException {
    sshd.start();
    accepting = true;
  }

  /**
   * Stops accepting connections, for a drain before the gateway stops: the port is closed (a new
   * client gets "connection refused", and a load balancer sends it to another gateway), and a
   * connection accepted just before is refused; open sessions go on.
   */
  public void stopAccepting() {
    accepting = false;
    preAuth.refuseAll();
    if (sshd instanceof DrainableSshServer drainable) {
      drainable.unbind();
    } else {
      log.warn("this SSH server cannot close its port early; new connections are refused instead");
    }
  }

  /** Whether the SSH port accepts connections: started, and neither draining nor closed. */
  public boolean isAccepting() {
    return accepting && sshd.isStarted();
  }

  /** Connections open now, logged in or not. */
  public int openConnections() {
    return sshd.getActiveSessions().size();
  }

  /**
   * Ends every open connection with an SSH disconnect that carries {@code message}, which OpenSSH's
   * client prints ("Received disconnect from ...: 11: MESSAGE").
   */
  public void disconnectAll(String message) {
    for (AbstractSession session : sshd.getActiveSessions()) {
      try {
        session.disconnect(SshConstants.SSH2_DISCONNECT_BY_APPLICATION, message);
      } catch (IOException | RuntimeException e) {
        session.close(true);
      }
    }
  }

  /** The port bound (the chosen one when the config said 0). */
  public int port() {
    return sshd.getPort();
  }

  /** Stops listening and closes every session. */
  @Override
  public void close() throws IOException {
    accepting = false;
    try {
      sshd.stop(true);
    } finally {
      authLookups.shutdownNow();
      bridgeThreads.shutdownNow();
      forwarding.close();
    }
  }

  /** MINA's server with access to its acceptor, which it otherwise closes only with everything. */
  private static final class DrainableSshServer extends SshServer {
    void unbind() {
      if (acceptor != null) {
        acceptor.unbind();
      }
    }
  }

  private static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
