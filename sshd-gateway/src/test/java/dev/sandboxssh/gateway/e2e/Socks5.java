package dev.sandboxssh.gateway.e2e;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A minimal SOCKS5 client (RFC 1928, no authentication, CONNECT by name) for {@code ssh -D}. */
public final class Socks5 {
  private Socks5() {}

  /** Connects through the SOCKS server at 127.0.0.1:{@code proxyPort} to {@code host:port}. */
  public static Socket connect(int proxyPort, String host, int port) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort);
    s.setSoTimeout((int) Timeouts.COMMAND.toMillis());
    OutputStream out = s.getOutputStream();
    DataInputStream in = new DataInputStream(s.getInputStream());
    out.write(new byte[] {5, 1, 0});
    byte[] method = new byte[2];
    in.readFully(method);
    if (method[0] != 5 || method[1] != 0) {
      s.close();
      throw new IOException("SOCKS server refused no-auth");
    }
    byte[] name = host.getBytes(StandardCharsets.US_ASCII);
    out.write(new byte[] {5, 1, 0, 3, (byte) name.length});
    out.write(name);
    out.write(new byte[] {(byte) (port >> 8), (byte) port});
    byte[] reply = new byte[4];
    in.readFully(reply);
    if (reply[1] != 0) {
      s.close();
      throw new IOException("SOCKS CONNECT failed with code " + reply[1]);
    }
    int addressLength = reply[3] == 1 ? 4 : reply[3] == 4 ? 16 : in.readUnsignedByte();
    in.readFully(new byte[addressLength + 2]);
    return s;
  }
}
