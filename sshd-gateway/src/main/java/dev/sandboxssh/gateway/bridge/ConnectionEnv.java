package dev.sandboxssh.gateway.bridge;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What sshd tells every session's process about its connection ({@code SSH_CLIENT}, {@code
 * SSH_CONNECTION}; OpenSSH's session.c): shell start-up files, prompts, tmux and editors read them
 * to tell a remote login from a local one. The server half is the gateway's address and port as the
 * client reached them, which the client knows already.
 */
final class ConnectionEnv {
  private ConnectionEnv() {}

  /** The variables for a connection from {@code client} to {@code server}; none unless both IP. */
  static Map<String, String> of(SocketAddress client, SocketAddress server) {
    Map<String, String> env = new LinkedHashMap<>();
    if (client instanceof InetSocketAddress c
        && server instanceof InetSocketAddress s
        && c.getAddress() != null
        && s.getAddress() != null) {
      String from = numeric(c.getAddress()) + " " + c.getPort();
      env.put("SSH_CLIENT", from + " " + s.getPort());
      env.put("SSH_CONNECTION", from + " " + numeric(s.getAddress()) + " " + s.getPort());
    }
    return env;
  }

  /**
   * The address as sshd prints it (getnameinfo's numeric form): an IPv4-mapped IPv6 address as
   * IPv4, other IPv6 addresses with their longest run of zero groups shortened to "::" (RFC 5952).
   */
  static String numeric(InetAddress address) {
    if (!(address instanceof Inet6Address)) {
      return address.getHostAddress(); // IPv4, including IPv4-mapped, which Java unwraps
    }
    byte[] b = address.getAddress();
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLength = 1; // a single zero group stays "0"
    for (int i = 0; i < 8; ) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLength - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(groups[i]));
    }
    String host = address.getHostAddress();
    int scope = host.indexOf('%'); // a link-local address's interface, as getnameinfo adds it
    if (scope >= 0) {
      out.append(host, scope, host.length());
    }
    return out.toString();
  }
}
