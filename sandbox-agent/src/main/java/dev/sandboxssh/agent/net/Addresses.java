package dev.sandboxssh.agent.net;

import dev.sandboxssh.api.v1.SocketAddress;
import dev.sandboxssh.api.v1.TcpAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;

/** Converts socket addresses to their proto form. */
final class Addresses {
  private Addresses() {}

  /** The proto form of a TCP or unix socket address; an unnamed unix peer has an empty path. */
  static SocketAddress toProto(java.net.SocketAddress address) {
    if (address instanceof InetSocketAddress inet) {
      String host =
          inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
      return SocketAddress.newBuilder()
          .setTcp(TcpAddress.newBuilder().setHost(host).setPort(inet.getPort()))
          .build();
    }
    if (address instanceof UnixDomainSocketAddress unix) {
      return SocketAddress.newBuilder().setUnixPath(unix.getPath().toString()).build();
    }
    return SocketAddress.getDefaultInstance();
  }
}
