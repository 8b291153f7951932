package dev.sandboxssh.gateway.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback TCP server that accepts connections and never sends a byte: an agent endpoint that is
 * reachable but does not answer.
 */
public final class SilentTcpServer implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> accepted = new ArrayList<>();
  private final Thread acceptor;

  /** Starts listening on a free loopback port. */
  public SilentTcpServer() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::acceptForever, "silent-tcp-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** {@code 127.0.0.1:PORT}. */
  public String endpoint() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** How many connections it has accepted. */
  public synchronized int connections() {
    return accepted.size();
  }

  private void acceptForever() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        synchronized (this) {
          accepted.add(s);
        }
      } catch (IOException e) {
        return;
      }
    }
  }

  @Override
  public synchronized void close() throws IOException {
    server.close();
    for (Socket s : accepted) {
      s.close();
    }
  }

  /** An endpoint where nothing listens: a port that was free a moment ago. */
  public static String closedEndpoint() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return "127.0.0.1:" + s.getLocalPort();
    }
  }
}
