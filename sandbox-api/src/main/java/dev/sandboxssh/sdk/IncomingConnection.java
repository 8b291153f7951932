package dev.sandboxssh.sdk;

import java.io.IOException;
import java.net.SocketAddress;

/** A connection a {@link TunnelListener} accepted inside the sandbox, not yet taken. */
public interface IncomingConnection {
  /** Who connected: a TCP address, or a unix path (often empty for unix clients). */
  SocketAddress remoteAddress();

  /**
   * Takes the connection as a tunnel, blocking until the agent hands it over.
   *
   * @throws IOException when it is gone (closed after 30 s, or taken already)
   */
  Tunnel accept(TunnelHandler handler) throws IOException;

  /** Closes the connection inside the sandbox without relaying anything. */
  void reject();
}
