package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.config.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.PublicKey;
import java.security.SignatureException;
import java.time.Instant;
import java.util.Map;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.signature.Signature;
import org.apache.sshd.common.signature.SignatureFactoriesManager;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKey;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.server.session.ServerSession;

/**
 * The "publickey" method with the checks of a key that need no ownership table, made before MINA's
 * own so that each refusal is logged with its precise reason: revoked keys (for every key) and, for
 * OpenSSH user certificates, the CA's signature, validity and critical options. Which CA an owner
 * trusts, and the principals, are {@link OwnershipCheck}'s.
 *
 * <p>Critical options (PROTOCOL.certkeys): {@code source-address} is honoured; every other one
 * ({@code force-command}, {@code verify-required}, any unknown) refuses the certificate, since a
 * restriction the gateway would not enforce must not be silently dropped. Extensions ({@code
 * permit-pty} and the like) are not restrictions and are ignored.
 */
public final class CheckedPublicKeyAuth extends UserAuthPublicKey {
  private final RevokedKeys revokedKeys;
  // Set by verifySignature once it has logged a refusal: one request's, since MINA makes an
  // instance per request and runs it on one thread.
  private boolean signatureRefused;

  private CheckedPublicKeyAuth(RevokedKeys revokedKeys) {
    this.revokedKeys = revokedKeys;
  }

  /** The factory to install in place of MINA's {@code UserAuthPublicKeyFactory}. */
  public static UserAuthPublicKeyFactory factory(RevokedKeys revokedKeys) {
    return new UserAuthPublicKeyFactory() {
      @Override
      public UserAuthPublicKey createUserAuth(ServerSession session) {
        return new CheckedPublicKeyAuth(revokedKeys);
      }
    };
  }

  @Override
  public Boolean doAuth(Buffer buffer, boolean init) throws Exception {
    ServerSession session = getServerSession();
    Offer offer = Offer.peek(buffer);
    Refusal refusal = refusal(offer, session);
    if (refusal != null) {
      OwnerKeyAuthenticator.refused(
          refusal.failure(),
          getUsername(),
          offer.key() == null ? "-" : describe(offer.key()),
          session,
          refusal.detail());
      return Boolean.FALSE;
    }
    signatureRefused = false;
    try {
      return super.doAuth(buffer, init);
    } catch (SignatureException e) {
      if (signatureRefused) {
        // Already logged with its reason by verifySignature; MINA throws to refuse, and would log
        // a second, reasonless WARN for the same attempt.
        return Boolean.FALSE;
      }
      throw e;
    }
  }

  // What MINA cannot read or verify it refuses by throwing, logged without a reason; OpenSSH
  // refuses the same requests ("parse key", "unsupported public key algorithm").
  private Refusal refusal(Offer offer, ServerSession session) {
    if (offer.algorithm() == null) {
      return new Refusal(LoginFailure.MALFORMED_KEY, "unreadable request");
    }
    if (NamedResource.findByName(
            offer.algorithm(),
            String.CASE_INSENSITIVE_ORDER,
            SignatureFactoriesManager.resolveSignatureFactories(this, session))
        == null) {
      return new Refusal(LoginFailure.UNSUPPORTED_ALGORITHM, "algorithm=" + offer.algorithm());
    }
    if (offer.key() == null) {
      return new Refusal(LoginFailure.MALFORMED_KEY, "algorithm=" + offer.algorithm());
    }
    return check(offer.key(), session);
  }

  /**
   * MINA's check of the signature, which it reaches only for a key the owner has; a signature that
   * does not verify, or cannot be read, is logged as such (MINA then refuses the attempt).
   */
  @Override
  protected boolean verifySignature(
      ServerSession session,
      String username,
      String alg,
      PublicKey key,
      Buffer buffer,
      Signature verifier,
      byte[] sig)
      throws Exception {
    String why;
    try {
      if (super.verifySignature(session, username, alg, key, buffer, verifier, sig)) {
        return true;
      }
      why = "algorithm=" + alg;
    } catch (Exception e) {
      why = "algorithm=" + alg + " " + e.getClass().getSimpleName() + ": " + e.getMessage();
    }
    OwnerKeyAuthenticator.refused(
        LoginFailure.BAD_SIGNATURE, username, describe(key), session, why);
    signatureRefused = true;
    return false;
  }

  /** Checked in {@link #check}, where plain addresses count too, as in OpenSSH. */
  @Override
  protected void verifyCertificateSources(ServerSession session, OpenSshCertificate cert) {}

  private record Refusal(LoginFailure failure, String detail) {}

  private Refusal check(PublicKey key, ServerSession session) {
    switch (revokedKeys.check(key)) {
      case REVOKED -> {
        return new Refusal(LoginFailure.REVOKED_KEY, "");
      }
      case UNREADABLE -> {
        return new Refusal(LoginFailure.REVOCATION_LIST_UNREADABLE, "");
      }
      case ALLOWED -> {}
    }
    if (!(key instanceof OpenSshCertificate cert)) {
      return null;
    }
    String id = "id=" + cert.getId() + " serial=" + Long.toUnsignedString(cert.getSerial());
    if (cert.getType() != OpenSshCertificate.Type.USER) {
      return new Refusal(LoginFailure.CERT_INVALID, id + " not a user certificate");
    }
    try {
      verifyCertificateSignature(session, cert);
    } catch (Exception e) {
      return new Refusal(LoginFailure.CERT_INVALID, id + " " + e.getMessage());
    }
    long now = Instant.now().getEpochSecond();
    if (Long.compareUnsigned(now, cert.getValidAfter()) < 0) {
      return new Refusal(LoginFailure.CERT_NOT_YET_VALID, id);
    }
    if (Long.compareUnsigned(now, cert.getValidBefore()) >= 0) {
      return new Refusal(LoginFailure.CERT_EXPIRED, id);
    }
    for (Map.Entry<String, String> option : cert.getCriticalOptionsMap().entrySet()) {
      if (!"source-address".equals(option.getKey())) {
        return new Refusal(LoginFailure.CERT_CRITICAL_OPTION, id + " " + option.getKey());
      }
      if (!sourceAllowed(option.getValue(), session)) {
        return new Refusal(
            LoginFailure.CERT_SOURCE_ADDRESS, id + " source-address=" + option.getValue());
      }
    }
    return null;
  }

  private static boolean sourceAllowed(String list, ServerSession session) {
    if (!(session.getRemoteAddress() instanceof InetSocketAddress remote)) {
      return false;
    }
    InetAddress source = remote.getAddress();
    for (String entry : list.split(",")) {
      if (Cidr.isValid(entry) && Cidr.parse(entry).contains(source)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The algorithm and key of a "publickey" request as far as they can be read: a null algorithm
   * when the request cannot be read at all, a null key when its blob does not parse or goes on past
   * its key.
   */
  private record Offer(String algorithm, PublicKey key) {
    static Offer peek(Buffer buffer) {
      int start = buffer.rpos();
      String algorithm = null;
      try {
        buffer.getBoolean(); // has signature
        algorithm = buffer.getString();
        ByteArrayBuffer blob = new ByteArrayBuffer(buffer.getBytes());
        PublicKey key = blob.getRawPublicKey();
        return new Offer(algorithm, blob.available() == 0 ? key : null);
      } catch (Exception e) {
        return new Offer(algorithm, null);
      } finally {
        buffer.rpos(start);
      }
    }
  }

  private static String describe(PublicKey key) {
    if (key instanceof OpenSshCertificate cert) {
      return "cert:" + dev.sandboxssh.gateway.store.PublicKeys.fingerprint(cert.getCertPubKey());
    }
    return dev.sandboxssh.gateway.store.PublicKeys.fingerprint(key);
  }
}
