package dev.sandboxssh.agent;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;

/** Where the agent listens: {@code HOST:PORT} (TCP) or {@code unix:PATH} (a unix socket). */
public sealed interface ListenAddress {

  /** A TCP address; port 0 lets the system choose. */
  record Tcp(String host, int port) implements ListenAddress {}

  /** A unix socket file. */
  record Unix(Path path) implements ListenAddress {}

  /** Parses {@code HOST:PORT}, {@code [V6]:PORT} or {@code unix:PATH}. */
  static ListenAddress parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("address is empty");
    }
    if (text.startsWith("unix:")) {
      String path = text.substring("unix:".length());
      if (path.isEmpty()) {
        throw new IllegalArgumentException("unix: address needs a path: " + text);
      }
      return new Unix(Path.of(path));
    }
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("expected HOST:PORT or unix:PATH, got " + text);
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port in " + text);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range in " + text);
    }
    return new Tcp(host, port);
  }

  /** The socket address to bind. */
  default SocketAddress toSocketAddress() {
    if (this instanceof Unix unix) {
      return new io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress(
          unix.path().toString());
    }
    Tcp tcp = (Tcp) this;
    return new InetSocketAddress(tcp.host(), tcp.port());
  }
}
