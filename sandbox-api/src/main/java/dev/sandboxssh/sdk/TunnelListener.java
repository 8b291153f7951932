package dev.sandboxssh.sdk;

import java.net.SocketAddress;

/** A listening socket inside a sandbox; each connection goes to its {@link AcceptHandler}. */
public interface TunnelListener extends AutoCloseable {
  /** The TCP port bound (the one chosen when 0 was asked), or -1 for a unix socket. */
  int port();

  /** The bound address: a TCP address, or the unix socket's path. */
  SocketAddress address();

  /** Stops listening (removing a unix socket file); connections already accepted are unaffected. */
  @Override
  void close();
}
