package dev.sandboxssh.gateway.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * An echo server on the test host's loopback: the client side of {@code ssh -R}. Each connection
 * gets back what it sends, and end-of-file after the client's end-of-file.
 */
public final class EchoServerOnHost implements AutoCloseable {
  private final ServerSocket server;

  /** Starts one on a free loopback port. */
  public EchoServerOnHost() throws IOException {
    this(InetAddress.getLoopbackAddress());
  }

  /** Starts one on a free port of {@code address}. */
  public EchoServerOnHost(InetAddress address) throws IOException {
    server = new ServerSocket(0, 64, address);
    Thread acceptor = new Thread(this::acceptLoop, "echo-on-host");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The address it listens on. */
  public InetAddress address() {
    return server.getInetAddress();
  }

  /** The port it listens on. */
  public int port() {
    return server.getLocalPort();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        Thread t = new Thread(() -> echo(s), "echo-on-host-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void echo(Socket s) {
    try (s;
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream()) {
      in.transferTo(out);
      s.shutdownOutput();
    } catch (IOException e) {
      // The peer went away; nothing to echo to.
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
