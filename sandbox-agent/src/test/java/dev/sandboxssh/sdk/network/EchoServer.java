package dev.sandboxssh.sdk.network;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A TCP echo server on loopback, standing for a server inside the sandbox. It echoes until the
 * client half-closes, then half-closes too.
 */
final class EchoServer implements AutoCloseable {
  private final ServerSocket server;

  EchoServer() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "echo-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        Thread echo = new Thread(() -> echo(socket), "echo");
        echo.setDaemon(true);
        echo.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  static void echo(Socket socket) {
    try (socket;
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream()) {
      in.transferTo(out);
      socket.shutdownOutput();
    } catch (IOException e) {
      // The test decides what a broken echo means.
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
