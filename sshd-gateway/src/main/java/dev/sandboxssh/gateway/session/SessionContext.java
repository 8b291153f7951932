package dev.sandboxssh.gateway.session;

import dev.sandboxssh.gateway.events.GatewayEvents;
import dev.sandboxssh.gateway.routing.SandboxLease;
import dev.sandboxssh.gateway.routing.SandboxResolver;
import dev.sandboxssh.gateway.routing.SandboxUnreachableException;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.session.Session;

/**
 * One SSH connection's view of its sandbox: what its user name asked for, the lease on the agent
 * (taken by the first channel that needs it and held until the connection ends), and what the
 * session did, for the one log line written when it ends. An owner who logged in under their own
 * name has no sandbox until they {@link #choose} one.
 *
 * <p>It is also where the connection's channels report to {@link GatewayEvents} (metrics, the audit
 * log), each event naming who: the connection's id, owner, sandbox, key and source.
 */
public final class SessionContext implements AutoCloseable {
  /** The session attribute holding the context. */
  public static final AttributeKey<SessionContext> KEY = new AttributeKey<>();

  private SandboxRecord sandbox;
  private final String owner;
  private final LoginName name;
  private final SocketAddress remote;
  private final SandboxResolver resolver;
  private final Instant started = Instant.now();
  private final List<String> channels = new ArrayList<>();
  private final List<String> exits = new ArrayList<>();
  private final AtomicLong bytesIn = new AtomicLong();
  private final AtomicLong bytesOut = new AtomicLong();
  private SandboxLease lease;
  private boolean closed;
  // Fixed at login: an owner's own name, where a sandbox is chosen later (or never).
  private final boolean ownerLogin;
  private final String id;
  private final String user;
  private final String key;
  private final GatewayEvents events;

  /**
   * The context of a session in which {@code owner} reached {@code sandbox} (null for the owner's
   * own login) through the user name {@code name}: the connection {@code id}, which logged in as
   * {@code user} with the key {@code key} and reports to {@code events}.
   */
  public SessionContext(
      SandboxRecord sandbox,
      String owner,
      LoginName name,
      SocketAddress remote,
      SandboxResolver resolver,
      String id,
      String user,
      String key,
      GatewayEvents events) {
    this.id = id;
    this.user = user;
    this.key = key;
    this.events = events;
    this.sandbox = sandbox;
    this.ownerLogin = sandbox == null;
    this.owner = owner;
    this.name = name;
    this.remote = remote;
    this.resolver = resolver;
  }

  /** The context of {@code session}, which must have authenticated. */
  public static SessionContext of(Session session) {
    SessionContext context = session.getAttribute(KEY);
    if (context == null) {
      throw new IllegalStateException("session has no sandbox: not authenticated");
    }
    return context;
  }

  /** The sandbox id; null while an owner's login has chosen none. */
  public synchronized String sandboxId() {
    return sandbox == null ? null : sandbox.id();
  }

  /** The owner whose key logged in. */
  public String owner() {
    return owner;
  }

  /** What the SSH user name asked for. */
  public LoginName name() {
    return name;
  }

  /** The provider routing this session's sandboxes (an owner's list asks it what runs). */
  public SandboxResolver resolver() {
    return resolver;
  }

  /** Whether the owner logged in under their own name (no sandbox named). */
  public boolean isOwnerLogin() {
    return ownerLogin;
  }

  /**
   * Binds an owner's login to {@code chosen}, one of the owner's sandboxes, once: the channels that
   * follow reach it as if its id had been the user name.
   */
  public synchronized void choose(SandboxRecord chosen) {
    if (sandbox != null || !chosen.owner().equals(owner)) {
      throw new IllegalStateException("this session cannot switch to sandbox " + chosen.id());
    }
    this.sandbox = chosen;
  }

  /**
   * The lease on the sandbox's agent, taken on first use. Blocks up to the connect timeout; call it
   * off MINA's I/O threads.
   */
  public synchronized SandboxLease lease() throws SandboxUnreachableException {
    if (closed) {
      throw new SandboxUnreachableException(
          "sandbox " + sandboxId() + ": the session is closing", null);
    }
    if (sandbox == null) {
      throw new SandboxUnreachableException(
          owner + " names an owner, not a sandbox: log in as SANDBOX@ to reach one", null);
    }
    if (name.form() == LoginName.Form.INVALID) {
      throw new SandboxUnreachableException(
          "sandbox " + sandbox.id() + ": " + name.problem(), null);
    }
    if (lease == null) {
      lease = resolver.acquire(sandbox);
    }
    return lease;
  }

  /**
   * Drops the lease after the agent failed under it, so that the next channel reaches the sandbox
   * afresh (a local agent is restarted).
   */
  public synchronized void invalidate(SandboxLease failed) {
    if (lease == failed && lease != null) {
      lease.close();
      lease = null;
    }
  }

  /** Records a channel request ("shell", "exec", "sftp", "direct-tcpip", ...). */
  public synchronized void recordChannel(String kind) {
    channels.add(kind);
  }

  /** Records how a command ended ("0", "255", "TERM"...). */
  public synchronized void recordExit(String status) {
    exits.add(status);
  }

  /** Counts bytes from the client into the sandbox. */
  public void addBytesIn(long n) {
    bytesIn.addAndGet(n);
    events.bytesIn(n);
  }

  /** Counts bytes from the sandbox out to the client. */
  public void addBytesOut(long n) {
    bytesOut.addAndGet(n);
    events.bytesOut(n);
  }

  /** Who this connection is, for events: the sandbox as chosen so far. */
  public GatewayEvents.Who who() {
    return new GatewayEvents.Who(id, user, owner, sandboxId(), key, address(remote));
  }

  /**
   * An address as {@code 192.0.2.7:51234} or {@code [2001:db8::7]:51234}: what a grep or jq for a
   * client's address expects, without the {@code /} of {@link java.net.InetSocketAddress}'s own
   * text.
   */
  public static String address(SocketAddress address) {
    if (address instanceof java.net.InetSocketAddress inet && inet.getAddress() != null) {
      String host = inet.getAddress().getHostAddress();
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return address == null ? null : address.toString();
  }

  /** Reports a session channel's start (see {@link GatewayEvents#sessionStarted}). */
  public void sessionStarted(String kind, String command, boolean pty) {
    events.sessionStarted(who(), kind, command, pty);
  }

  /** Reports a session channel's end (see {@link GatewayEvents#sessionEnded}). */
  public void sessionEnded(String kind, String exit, Duration duration) {
    events.sessionEnded(who(), kind, exit, duration);
  }

  /**
   * Records a forward of {@code kind} for the end-of-session line, and reports it with its target
   * (see {@link GatewayEvents#forwardOpened}).
   */
  public void forwardOpened(String kind, String target) {
    recordChannel(kind);
    events.forwardOpened(who(), kind, target);
  }

  /** Reports an SFTP or scp file operation (see {@link GatewayEvents#fileOperation}). */
  public void fileOperation(
      String protocol, String op, String path, String to, long bytes, String result) {
    events.fileOperation(who(), protocol, op, path, to, bytes, result);
  }

  /** Reports the end of this logged-in connection, with its payload bytes. */
  public void loggedOut() {
    events.loggedOut(
        who(), Duration.between(started, Instant.now()), bytesIn.get(), bytesOut.get());
  }

  /** The end-of-session log line. */
  public synchronized String summary() {
    return ("session end: owner=%s sandbox=%s from=%s channels=%s bytes_in=%d bytes_out=%d"
            + " duration=%dms exit=%s session=%s")
        .formatted(
            owner,
            sandboxId(),
            remote,
            channels,
            bytesIn.get(),
            bytesOut.get(),
            Duration.between(started, Instant.now()).toMillis(),
            exits,
            id);
  }

  /** Releases the lease. */
  @Override
  public synchronized void close() {
    closed = true;
    if (lease != null) {
      lease.close();
      lease = null;
    }
  }
}
