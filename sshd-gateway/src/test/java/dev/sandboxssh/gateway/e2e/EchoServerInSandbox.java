package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * An echo server running inside the sandbox (python3, started through {@code ssh demo@gw}),
 * listening on a loopback TCP port or a unix socket. Each connection gets back what it sends, and
 * end-of-file after the client's end-of-file. It lives as long as its ssh command.
 */
public final class EchoServerInSandbox implements AutoCloseable {
  /** The server, for `python3 - WHERE`: WHERE is "tcp" or a unix socket path. */
  static final String SCRIPT =
      """
      import os, socket, sys, threading
      where = sys.argv[1]
      if where == "tcp":
          s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
          s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
          s.bind(("127.0.0.1", 0))
          name = str(s.getsockname()[1])
      else:
          s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
          if os.path.exists(where):
              os.unlink(where)
          s.bind(where)
          name = where
      s.listen(64)
      print("listeningOn==" + name + "==", flush=True)
      def echo(c):
          while True:
              d = c.recv(262144)
              if not d:
                  break
              c.sendall(d)
          c.shutdown(socket.SHUT_WR)
          c.close()
      while True:
          c, _ = s.accept()
          threading.Thread(target=echo, args=(c,), daemon=True).start()
      """;

  private final Process process;
  private final String address;

  private EchoServerInSandbox(Process process, String address) {
    this.process = process;
    this.address = address;
  }

  /** Starts one on a free loopback TCP port of the sandbox. */
  public static EchoServerInSandbox tcp(OpenSsh ssh) throws IOException {
    return start(ssh, "tcp");
  }

  /** Starts one on a unix socket at {@code path} inside the sandbox. */
  public static EchoServerInSandbox unix(OpenSsh ssh, String path) throws IOException {
    return start(ssh, path);
  }

  private static EchoServerInSandbox start(OpenSsh ssh, String where) throws IOException {
    Process p = OpenSsh.start(ssh.sshCommand(GatewayFixture.SANDBOX, "python3 - " + where));
    try (OutputStream in = p.getOutputStream()) {
      in.write(SCRIPT.getBytes(StandardCharsets.UTF_8));
    }
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> line =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return out.readLine();
              } catch (IOException e) {
                return null;
              }
            },
            BlockingTasks.THREADS);
    String first;
    try {
      first = line.get(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IOException("echo server did not start: " + e);
    }
    assertThat(first).as("echo server's first line").startsWith("listeningOn==");
    return new EchoServerInSandbox(p, first.substring(13, first.length() - 2));
  }

  /** The TCP port inside the sandbox. */
  public int port() {
    return Integer.parseInt(address);
  }

  /** The unix socket path inside the sandbox. */
  public String path() {
    return address;
  }

  @Override
  public void close() {
    process.destroy();
  }
}
