package dev.sandboxssh.agent.fs;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.AgentServer;
import dev.sandboxssh.agent.ListenAddress;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * A real agent server on a unix socket, serving a sandbox directory under a test's temp dir, and an
 * SDK client connected to it the way the gateway connects.
 *
 * <p>Layout: {@code TMP/sandbox} is the sandbox (its home; also its {@code --root} when rooted),
 * {@code TMP/outside} holds {@code secret.txt} and {@code secret-dir/} for escape attempts, and the
 * agent's socket {@code TMP/agent.sock} lies outside the sandbox.
 */
public final class RootedAgentFixture implements AutoCloseable {
  /** How long a test waits for the agent to answer at all. */
  public static final Duration STARTUP = Duration.ofSeconds(10);

  /** Content of the file outside the sandbox that no escape may read. */
  public static final String SECRET = "host secret\n";

  private final Path sandboxDir;
  private final Path outsideDir;
  private final Path socket;
  private final String token = "test-" + UUID.randomUUID();
  private final AgentServer server;
  private final Sandbox sandbox;

  private RootedAgentFixture(Path tmp, boolean rooted) throws IOException {
    this.sandboxDir = Files.createDirectories(tmp.resolve("sandbox")).toRealPath();
    this.outsideDir = Files.createDirectories(tmp.resolve("outside")).toRealPath();
    Files.writeString(outsideDir.resolve("secret.txt"), SECRET);
    Files.createDirectories(outsideDir.resolve("secret-dir"));
    Files.writeString(outsideDir.resolve("secret-dir/inner.txt"), SECRET);
    this.socket = tmp.resolve("agent.sock");
    AgentConfig config = new AgentConfig(token, rooted ? sandboxDir : null, sandboxDir);
    this.server = AgentServer.listen(new ListenAddress.Unix(socket), config);
    this.sandbox = Sandbox.connect("unix:" + socket, token);
    sandbox.awaitReady(STARTUP);
  }

  /** An agent confined with {@code --root} to the sandbox directory. */
  public static RootedAgentFixture rooted(Path tmp) throws IOException {
    return new RootedAgentFixture(tmp, true);
  }

  /** An agent without {@code --root}: paths resolve against the sandbox directory as home. */
  public static RootedAgentFixture unconfined(Path tmp) throws IOException {
    return new RootedAgentFixture(tmp, false);
  }

  /** The SDK client of this agent. */
  public Sandbox sandbox() {
    return sandbox;
  }

  /** The sandbox directory: home, and root when rooted. */
  public Path sandboxDir() {
    return sandboxDir;
  }

  /** A directory beside the sandbox, holding the secrets escapes aim at. */
  public Path outsideDir() {
    return outsideDir;
  }

  /** The agent's unix socket. */
  public Path socket() {
    return socket;
  }

  /** The bearer token the agent expects. */
  public String token() {
    return token;
  }

  /** Stops the agent abruptly, as a crashed sandbox would, leaving the client open. */
  public void stopAgent() {
    server.close();
  }

  @Override
  public void close() {
    sandbox.close();
    server.close();
  }
}
