package dev.sandboxssh.gateway.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * An address or a range of addresses, written as OpenSSH writes them in {@code source-address} and
 * {@code PerSourcePenaltyExemptList}: {@code 192.0.2.7}, {@code 192.0.2.0/24}, {@code
 * 2001:db8::/32}. Never a host name, so that matching never does DNS.
 */
public final class Cidr {
  private final byte[] network;
  private final int bits;

  private Cidr(byte[] network, int bits) {
    this.network = network;
    this.bits = bits;
  }

  // Literal addresses only: InetAddress.getByName would resolve anything else through DNS.
  private static final Pattern LITERAL =
      Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:][0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException when it is not an address or an address/bits
   */
  public static Cidr parse(String text) {
    String t = text.trim();
    int slash = t.indexOf('/');
    String address = slash < 0 ? t : t.substring(0, slash);
    if (!LITERAL.matcher(address).matches()) {
      throw new IllegalArgumentException("not an IP address: '" + text + "'");
    }
    byte[] bytes;
    try {
      bytes = InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address: '" + text + "'");
    }
    int bits = bytes.length * 8;
    if (slash >= 0) {
      String b = t.substring(slash + 1);
      if (!b.matches("[0-9]{1,3}") || Integer.parseInt(b) > bytes.length * 8) {
        throw new IllegalArgumentException("bad prefix length in '" + text + "'");
      }
      bits = Integer.parseInt(b);
    }
    return new Cidr(mask(bytes, bits), bits);
  }

  /** Whether {@code text} parses. */
  public static boolean isValid(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Whether {@code address} lies in this range (an IPv4 address never in an IPv6 range). */
  public boolean contains(InetAddress address) {
    byte[] a = address.getAddress();
    return a.length == network.length && java.util.Arrays.equals(mask(a, bits), network);
  }

  @Override
  public String toString() {
    try {
      return InetAddress.getByAddress(network).getHostAddress() + "/" + bits;
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code bytes} with every bit past the first {@code bits} cleared. */
  public static byte[] mask(byte[] bytes, int bits) {
    byte[] out = bytes.clone();
    for (int i = 0; i < out.length; i++) {
      int keep = Math.max(0, Math.min(8, bits - i * 8));
      out[i] &= (byte) (0xff << (8 - keep));
    }
    return out;
  }
}
