package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.sdk.AcceptHandler;
import dev.sandboxssh.sdk.Sandbox;
import dev.sandboxssh.sdk.TunnelListener;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code ssh -A} socket of one connection: a unix socket inside the sandbox whose connections
 * become {@code auth-agent@openssh.com} channels back to the client's agent.
 *
 * <p>Threat: whoever can connect to it can sign with the user's keys. So it is mode 0600 in a
 * directory of mode 0700 with an unguessable name, it lives only as long as the connection, and it
 * is placed where other sandboxes cannot see it: under bubblewrap in the sandbox's private /tmp;
 * where the agent confines paths to the sandbox directory (no bubblewrap), under its home.
 */
final class AgentSocket implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentSocket.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  static final String CHANNEL_TYPE = "auth-agent@openssh.com";

  private final Sandbox sandbox;
  private final TunnelListener listener;
  private final String path;
  private final String dirToRemove;

  private AgentSocket(Sandbox sandbox, TunnelListener listener, String path, String dirToRemove) {
    this.sandbox = sandbox;
    this.listener = listener;
    this.path = path;
    this.dirToRemove = dirToRemove;
  }

  /** Creates the socket for {@code forwards}' connection; blocks on the agent. */
  static AgentSocket open(SessionForwards forwards) throws IOException {
    Sandbox sandbox = forwards.sandbox().sandbox();
    AcceptHandler handler = incoming -> forwards.openToClient(CHANNEL_TYPE, b -> {}, incoming);
    String name = "agent." + randomHex(6);
    String dir = "/tmp/ssh-" + randomHex(8);
    try {
      sandbox.files().mkdir(dir, false, 0700);
    } catch (AccessDeniedException e) {
      // An agent confined to the sandbox directory: /tmp there would be the host's, shared.
      String home = sandbox.files().home();
      String agentDir = home + "/.ssh-agent";
      sandbox.files().mkdir(agentDir, true, 0700);
      sandbox.files().chmod(agentDir, 0700);
      String path = agentDir + "/" + name;
      return new AgentSocket(
          sandbox, sandbox.network().listenUnix(path, 0600, handler), path, null);
    }
    String path = dir + "/" + name;
    try {
      return new AgentSocket(sandbox, sandbox.network().listenUnix(path, 0600, handler), path, dir);
    } catch (IOException | RuntimeException e) {
      removeQuietly(sandbox, dir);
      throw e;
    }
  }

  /** The socket's path inside the sandbox: the value of SSH_AUTH_SOCK. */
  String path() {
    return path;
  }

  /** Stops listening, removing the socket file and its directory. */
  @Override
  public void close() {
    listener.close();
    if (dirToRemove != null) {
      removeQuietly(sandbox, dirToRemove);
    }
  }

  private static void removeQuietly(Sandbox sandbox, String dir) {
    try {
      sandbox.files().remove(dir, true);
    } catch (IOException | RuntimeException e) {
      log.debug("cannot remove {} in the sandbox: {}", dir, e.toString());
    }
  }

  private static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
