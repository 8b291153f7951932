package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

/**
 * TCP clients run inside a sandbox over ssh, for what only the sandbox's own loopback can reach: an
 * {@code ssh -R} listener, or a check that some address stays unreachable from there.
 */
public final class InSandbox {
  private static final String CONNECT =
      """
      import socket,sys
      s=socket.socket()
      s.settimeout(3)
      try:
        s.connect((sys.argv[1], int(sys.argv[2])))
        s.sendall(b'ping')
        print('reached', s.recv(4).decode())
      except OSError as e:
        print('failed', e.__class__.__name__)
      """;

  private static final String ECHO =
      """
      import hashlib,os,socket,sys,threading
      port,n=int(sys.argv[1]),int(sys.argv[2])
      s=socket.create_connection(('127.0.0.1',port))
      sent,got=hashlib.sha256(),hashlib.sha256()
      def send():
        left=n
        while left:
          chunk=os.urandom(min(left,65536))
          sent.update(chunk)
          s.sendall(chunk)
          left-=len(chunk)
        s.shutdown(socket.SHUT_WR)
      t=threading.Thread(target=send)
      t.start()
      total=0
      while True:
        b=s.recv(65536)
        if not b: break
        got.update(b)
        total+=len(b)
      t.join()
      print(total, 'same' if sent.digest()==got.digest() else 'different')
      """;

  private InSandbox() {}

  /**
   * Connects from inside {@code sandbox} to {@code host:port}, sends "ping" and reads 4 bytes:
   * {@code "reached ping"}, or {@code "failed "} and the Python exception's name.
   */
  public static String connect(OpenSsh ssh, String sandbox, String host, int port) {
    return python(ssh, sandbox, CONNECT, host + " " + port).strip();
  }

  /**
   * Sends {@code bytes} random bytes from inside {@code sandbox} to its loopback port {@code port}
   * and checks that exactly the same bytes come back before end-of-file.
   */
  public static void echo(OpenSsh ssh, String sandbox, int port, long bytes) {
    assertThat(python(ssh, sandbox, ECHO, port + " " + bytes))
        .as("echo through 127.0.0.1:%d inside %s", port, sandbox)
        .isEqualTo(bytes + " same\n");
  }

  private static String python(OpenSsh ssh, String sandbox, String script, String args) {
    OpenSsh.Result r =
        ssh.ssh(
            sandbox,
            "python3 - " + args,
            script.getBytes(StandardCharsets.UTF_8),
            Timeouts.TRANSFER);
    assertThat(r.exitCode()).as("python in %s: %s", sandbox, r.stderr()).isZero();
    return r.stdout();
  }
}
