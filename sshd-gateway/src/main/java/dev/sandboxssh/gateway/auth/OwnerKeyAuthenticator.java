package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.store.PublicKeys;
import java.security.PublicKey;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.server.auth.pubkey.PublickeyAuthenticator;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Public-key authentication against the ownership table: the SSH user name names a sandbox (in one
 * of the forms of {@code LoginName}) and the key must belong to that sandbox's owner, or it is an
 * owner's name and the key must be one of that owner's.
 *
 * <p>MINA calls it twice per key: for the client's query ("would you accept this key?") and, after
 * MINA verified the signature, for the real login. It reads the database each time, so it runs only
 * where blocking is allowed: {@link OffloadedUserAuthServiceFactory} keeps it off MINA's I/O
 * threads.
 */
public final class OwnerKeyAuthenticator implements PublickeyAuthenticator {
  private static final Logger log = LoggerFactory.getLogger(OwnerKeyAuthenticator.class);

  private final OwnershipCheck check;

  /** Decides with {@code check}. */
  public OwnerKeyAuthenticator(OwnershipCheck check) {
    this.check = check;
  }

  @Override
  public boolean authenticate(String user, PublicKey key, ServerSession session) {
    String fingerprint;
    OwnershipCheck.Decision decision;
    try {
      if (key instanceof OpenSshCertificate cert) {
        // CheckedPublicKeyAuth has checked its signature, validity and options.
        fingerprint = "cert:" + PublicKeys.fingerprint(cert.getCertPubKey());
        decision = check.decideCertificate(user, cert);
      } else {
        fingerprint = PublicKeys.fingerprint(key);
        decision = check.decide(user, fingerprint);
      }
    } catch (RuntimeException e) {
      fingerprint = PublicKeys.fingerprint(key);
      refused(LoginFailure.STORE_ERROR, user, fingerprint, session, e.toString());
      return false;
    }
    if (!decision.isGranted()) {
      refused(decision.failure(), user, fingerprint, session, "");
      return false;
    }
    // Read by the session listener once MINA declares the session authenticated.
    session.setAttribute(AuthenticatedSandbox.KEY, decision.granted());
    return true;
  }

  /** Logs a refused key with its precise reason. */
  static void refused(
      LoginFailure failure, String user, String fingerprint, ServerSession session, String why) {
    // The client only sees "Permission denied (publickey)"; the precise reason is for operators.
    session.setAttribute(
        OffloadedUserAuthServiceFactory.LAST_REFUSAL,
        new OffloadedUserAuthServiceFactory.Refusal(failure.label(), user, fingerprint));
    log.warn(
        "login refused: {} user={} key={} from={} {}",
        failure.label(),
        user,
        fingerprint,
        session.getRemoteAddress(),
        why);
  }
}
