package dev.sandboxssh.sdk;

import dev.sandboxssh.sdk.envd.EnvdAgent;
import io.grpc.CallCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A connection to one sandbox's agent: the entry point of the SDK, as {@code Sandbox} is in E2B's.
 *
 * <p>Only this package talks to the generated gRPC stubs; callers see {@link Commands}, {@link
 * Pty}, {@link Files} and {@link Network}.
 */
public final class Sandbox implements AutoCloseable {
  private final ManagedChannel channel;
  private final boolean ownsChannel;

  /** What else closing this closes: the translation of an envd, for {@link #connectEnvd}. */
  private final AutoCloseable owned;

  private final CallCredentials credentials;
  private final Commands commands;
  private final Pty pty;
  private final Files files;
  private final Network network;

  private Sandbox(ManagedChannel channel, boolean ownsChannel, String token) {
    this(channel, ownsChannel, token, null);
  }

  private Sandbox(ManagedChannel channel, boolean ownsChannel, String token, AutoCloseable owned) {
    this.channel = channel;
    this.ownsChannel = ownsChannel;
    this.owned = owned;
    this.credentials = new BearerToken(token);
    AgentStubs stubs = new AgentStubs(channel, credentials);
    this.commands = new Commands(stubs);
    this.pty = new Pty(stubs);
    this.files = new Files(stubs);
    this.network = new Network(stubs);
  }

  /**
   * Connects to an agent at {@code HOST:PORT} or {@code unix:PATH}. The connection is made lazily;
   * an unreachable agent surfaces as {@link SandboxUnavailableException} on first use.
   */
  public static Sandbox connect(String endpoint, String token) {
    String target = endpoint.startsWith("unix:") ? "unix://" + endpoint.substring(5) : endpoint;
    ManagedChannel channel =
        Grpc.newChannelBuilder(target, InsecureChannelCredentials.create())
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveWithoutCalls(false)
            .maxInboundMessageSize(4 * 1024 * 1024)
            .build();
    return new Sandbox(channel, true, token);
  }

  /**
   * Connects to a sandbox through its envd, E2B's in-sandbox daemon, at {@code envdUrl} ({@code
   * https://49983-ID.DOMAIN} for an E2B sandbox) with its envd access token. Everything but {@link
   * #network()} works as with an agent; see {@link EnvdAgent} for what envd cannot do.
   */
  public static Sandbox connectEnvd(URI envdUrl, String accessToken, Duration callTimeout) {
    EnvdAgent agent = EnvdAgent.start(envdUrl, accessToken, callTimeout);
    return new Sandbox(agent.channel(), false, accessToken, agent);
  }

  /** Wraps a channel the caller built (in-process in tests); {@link #close} leaves it open. */
  public static Sandbox over(ManagedChannel channel, String token) {
    return new Sandbox(channel, false, token);
  }

  /** Starting, listing and killing commands. */
  public Commands commands() {
    return commands;
  }

  /** Interactive terminals. */
  public Pty pty() {
    return pty;
  }

  /** The sandbox's filesystem. */
  public Files files() {
    return files;
  }

  /** Tunnels that dial or listen inside the sandbox. */
  public Network network() {
    return network;
  }

  /**
   * Waits until the agent answers a health check, at most {@code timeout}.
   *
   * @throws SandboxUnavailableException when it does not
   */
  public void awaitReady(Duration timeout) {
    new AgentStubs(channel, credentials).health(timeout, true);
  }

  /**
   * Asks the agent once whether it is serving, failing fast when nothing listens.
   *
   * @throws SandboxUnavailableException with {@code UNAVAILABLE} when the agent refuses or is gone,
   *     {@code DEADLINE_EXCEEDED} when it does not answer within {@code timeout}
   */
  public void ping(Duration timeout) {
    new AgentStubs(channel, credentials).health(timeout, false);
  }

  /** Closes the connection; processes started in the background keep running. */
  @Override
  public void close() {
    if (ownsChannel) {
      channel.shutdownNow();
    }
    if (owned != null) {
      try {
        owned.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Adds {@code authorization: Bearer <token>} to every call. */
  private static final class BearerToken extends CallCredentials {
    private static final Metadata.Key<String> AUTHORIZATION =
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final String header;

    BearerToken(String token) {
      this.header = "Bearer " + token;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      Metadata metadata = new Metadata();
      metadata.put(AUTHORIZATION, header);
      applier.apply(metadata);
    }
  }
}
