package dev.sandboxssh.sdk;

import java.io.IOException;
import java.net.SocketAddress;

/**
 * Takes a connected socket that the agent handed over (see {@link Network#handOffTo}) and serves it
 * as a {@link Tunnel}; only a caller on the agent's host can.
 */
@FunctionalInterface
public interface SocketTaker {

  /**
   * Takes the socket the agent keeps under {@code handOff} and relays it to {@code handler}.
   *
   * @param local the socket's sandbox-side local address, as the agent reported it
   * @param remote its peer inside the sandbox
   * @throws IOException when the socket cannot be had; the connection is then lost
   */
  Tunnel take(String handOff, SocketAddress local, SocketAddress remote, TunnelHandler handler)
      throws IOException;
}
