package dev.sandboxssh.gateway.store;

import dev.sandboxssh.gateway.config.DataDir;
import java.security.SecureRandom;
import java.util.regex.Pattern;

/** What the ownership table accepts as owner names, sandbox ids, agent endpoints and tokens. */
public final class Names {

  /**
   * An owner name: like a Unix user name (useradd's default rule), 1-32 characters of lowercase
   * letters, digits, {@code _ . -}, not starting with a digit, dot or dash.
   */
  public static final Pattern OWNER = Pattern.compile("[a-z_][a-z0-9_.-]{0,31}");

  /** {@code HOST:PORT} (IPv6 in brackets) or {@code unix:/absolute/path}. */
  private static final Pattern TCP_ENDPOINT =
      Pattern.compile(
          "(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):([0-9]{1,5})");

  /** Visible ASCII: a token travels as a gRPC metadata value. */
  private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]{1,4096}");

  private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private Names() {}

  /** Whether {@code name} is a valid owner name ({@link #OWNER}). */
  public static boolean isOwnerName(String name) {
    return name != null && OWNER.matcher(name).matches();
  }

  /**
   * Whether {@code id} is a valid sandbox id: a DNS label ({@code
   * [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?}), so it is also a host-name part and a safe directory name.
   */
  public static boolean isSandboxId(String id) {
    return DataDir.isSandboxId(id);
  }

  /** A fresh random sandbox id: {@code sbx-} and 8 lowercase base32 characters (40 bits). */
  public static String newSandboxId() {
    StringBuilder id = new StringBuilder("sbx-");
    for (int i = 0; i < 8; i++) {
      id.append(BASE32[RANDOM.nextInt(BASE32.length)]);
    }
    return id.toString();
  }

  /** Whether {@code endpoint} is {@code HOST:PORT} with a port 1-65535 or {@code unix:/PATH}. */
  public static boolean isEndpoint(String endpoint) {
    if (endpoint == null) {
      return false;
    }
    if (endpoint.startsWith("unix:")) {
      String path = endpoint.substring(5);
      return path.startsWith("/") && path.length() < 4096 && path.chars().noneMatch(c -> c < 0x20);
    }
    var m = TCP_ENDPOINT.matcher(endpoint);
    if (!m.matches()) {
      return false;
    }
    int port = Integer.parseInt(m.group(3));
    return port >= 1 && port <= 65535;
  }

  /**
   * Whether {@code url} is an envd's base URL: {@code http} or {@code https}, a host, an optional
   * port, and no user info, path, query or fragment, so that nothing in it can redirect the
   * gateway's calls or carry credentials.
   */
  public static boolean isEnvdUrl(String url) {
    if (url == null || url.length() > 2048) {
      return false;
    }
    try {
      java.net.URI u = new java.net.URI(url);
      return ("http".equals(u.getScheme()) || "https".equals(u.getScheme()))
          && u.getHost() != null
          && u.getRawUserInfo() == null
          && (u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))
          && u.getRawQuery() == null
          && u.getRawFragment() == null
          && (u.getPort() == -1 || (u.getPort() > 0 && u.getPort() < 65536));
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  /** Whether {@code token} can be an agent token: 1-4096 visible ASCII characters. */
  public static boolean isToken(String token) {
    return token != null && TOKEN.matcher(token).matches();
  }
}
