package dev.sandboxssh.gateway.auth;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.Base64;
import java.util.List;
import org.apache.sshd.common.SshException;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * Keys, user certificates and a KRL made with OpenSSH's ssh-keygen, under {@code
 * src/test/resources/dev/sandboxssh/gateway/auth/certificates/}: CAs {@code ca-ed25519}, {@code
 * ca-ecdsa}, {@code ca-rsa}; keys {@code user-*}; certificates {@code cert-*} of those keys (see
 * {@link #CERTIFICATES}); {@code revoked.krl} revokes serial 42 and key id {@code revoked-id} of
 * {@code ca-ed25519}.
 */
final class CertificateFixtures {
  /** Plain keys: the CAs and the certified keys. */
  static final List<String> KEYS =
      List.of("ca-ed25519", "ca-ecdsa", "ca-rsa", "user-ed25519", "user-ecdsa", "user-rsa");

  /**
   * {@code ssh-keygen -s}'s certificates, each named for what it shows: valid ones of each key
   * type, no principals, expired, not yet valid, force-command, verify-required, source-address
   * matching 192.0.2.0/24, 10.1.2.3 and ::1 or only 198.51.100.0/24, principal {@code *} with
   * extensions, a host certificate, and two that {@code revoked.krl} revokes.
   */
  static final List<String> CERTIFICATES =
      List.of(
          "cert-ok-ed25519",
          "cert-ok-ecdsa",
          "cert-ok-rsa",
          "cert-no-principals",
          "cert-expired",
          "cert-future",
          "cert-force-command",
          "cert-verify-required",
          "cert-source-address",
          "cert-source-elsewhere",
          "cert-any-principal-extensions",
          "cert-host",
          "cert-revoked-id",
          "cert-revoked-serial");

  private CertificateFixtures() {}

  /** The bytes of a fixture file. */
  static byte[] bytes(String file) {
    try (InputStream in = CertificateFixtures.class.getResourceAsStream("certificates/" + file)) {
      if (in == null) {
        throw new IllegalStateException("no test resource certificates/" + file);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The wire-format blob of {@code name.pub} (its base64 field). */
  static byte[] blob(String name) {
    String line = new String(bytes(name + ".pub"), StandardCharsets.US_ASCII);
    return Base64.getDecoder().decode(line.split(" ")[1]);
  }

  /** The key or certificate of {@code name.pub}, decoded as a userauth request's key blob is. */
  static PublicKey key(String name) {
    try {
      return new ByteArrayBuffer(blob(name)).getRawPublicKey();
    } catch (SshException e) {
      throw new IllegalStateException(name, e);
    }
  }
}
