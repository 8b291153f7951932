package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.session.LoginName;
import dev.sandboxssh.gateway.store.Owner;
import dev.sandboxssh.gateway.store.OwnerKey;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.PublicKeys;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.util.List;
import java.util.Optional;
import org.apache.sshd.common.config.keys.OpenSshCertificate;

/** Decides whether a key may reach a sandbox, from the ownership table alone. */
public final class OwnershipCheck {

  /** The outcome: either the sandbox reached, or the precise reason for refusal. */
  public record Decision(AuthenticatedSandbox granted, LoginFailure failure) {
    static Decision granted(AuthenticatedSandbox granted) {
      return new Decision(granted, null);
    }

    static Decision refused(LoginFailure failure) {
      return new Decision(null, failure);
    }

    /** Whether the login may proceed. */
    public boolean isGranted() {
      return granted != null;
    }
  }

  private final OwnershipStore store;
  private final List<GatewayConfig.Principal> principals;

  /** Checks against {@code store}, reading it afresh at every login. */
  public OwnershipCheck(OwnershipStore store) {
    this(store, GatewayConfig.defaults().auth().certificatePrincipals());
  }

  /**
   * Checks against {@code store}; a certificate must name one of {@code principals} (see {@link
   * GatewayConfig.Auth#certificatePrincipals()}).
   */
  public OwnershipCheck(OwnershipStore store, List<GatewayConfig.Principal> principals) {
    this.store = store;
    this.principals = List.copyOf(principals);
  }

  /**
   * Whether the key with {@code fingerprint} may log in as {@code user}: a form of a sandbox id
   * (see {@link LoginName}) with a key of the sandbox's owner, or an owner's name with one of that
   * owner's keys. Blocks on I/O.
   */
  public Decision decide(String user, String fingerprint) {
    LoginName name = LoginName.parse(user);
    Optional<SandboxRecord> sandbox = store.findSandbox(name.base());
    if (sandbox.isEmpty()) {
      return name.form() == LoginName.Form.PLAIN
          ? decideOwner(name, fingerprint)
          : Decision.refused(LoginFailure.UNKNOWN_SANDBOX);
    }
    String ownerName = sandbox.get().owner();
    Optional<Owner> owner = store.findOwner(ownerName);
    if (owner.isPresent() && holds(owner.get(), fingerprint)) {
      return Decision.granted(
          new AuthenticatedSandbox(sandbox.get(), ownerName, fingerprint, name));
    }
    // Only the log tells a stranger's key from another owner's: both are refused alike.
    boolean someoneElses = store.listOwners().stream().anyMatch(o -> holds(o, fingerprint));
    return Decision.refused(
        someoneElses ? LoginFailure.FOREIGN_SANDBOX : LoginFailure.NO_MATCHING_KEY);
  }

  /**
   * Whether {@code cert} may log in as {@code user}: signed by a CA the owner of the sandbox (or
   * the owner of that name) trusts, naming an accepted principal. Its signature, validity and
   * options are checked before (see {@link CheckedPublicKeyAuth}). Blocks on I/O.
   */
  public Decision decideCertificate(String user, OpenSshCertificate cert) {
    LoginName name = LoginName.parse(user);
    String ca = PublicKeys.fingerprint(cert.getCaPubKey());
    Optional<SandboxRecord> sandbox = store.findSandbox(name.base());
    String ownerName;
    if (sandbox.isPresent()) {
      ownerName = sandbox.get().owner();
    } else if (name.form() == LoginName.Form.PLAIN) {
      ownerName = name.base();
    } else {
      return Decision.refused(LoginFailure.UNKNOWN_SANDBOX);
    }
    Optional<Owner> owner = store.findOwner(ownerName);
    if (owner.isEmpty()) {
      return Decision.refused(LoginFailure.UNKNOWN_SANDBOX);
    }
    if (trusts(owner.get(), ca)) {
      String sandboxId = sandbox.map(SandboxRecord::id).orElse(null);
      if (!namesAcceptedPrincipal(cert.getPrincipals(), ownerName, sandboxId)) {
        return Decision.refused(LoginFailure.CERT_PRINCIPAL);
      }
      return Decision.granted(
          new AuthenticatedSandbox(
              sandbox.orElse(null),
              ownerName,
              "cert:" + PublicKeys.fingerprint(cert.getCertPubKey()),
              name));
    }
    boolean someoneElses = store.listOwners().stream().anyMatch(o -> trusts(o, ca));
    if (!someoneElses) {
      return Decision.refused(LoginFailure.UNTRUSTED_CA);
    }
    return Decision.refused(
        sandbox.isPresent() ? LoginFailure.FOREIGN_SANDBOX : LoginFailure.NOT_OWNERS_KEY);
  }

  private boolean namesAcceptedPrincipal(
      java.util.Collection<String> named, String ownerName, String sandboxId) {
    for (GatewayConfig.Principal p : principals) {
      boolean ok =
          switch (p) {
            case SANDBOX -> sandboxId != null && named.contains(sandboxId);
            case OWNER -> named.contains(ownerName);
            case ANY -> named.contains("*");
          };
      if (ok) {
        return true;
      }
    }
    return false;
  }

  private static boolean trusts(Owner owner, String caFingerprint) {
    for (OwnerKey ca : owner.cas()) {
      if (ca.fingerprint().equals(caFingerprint)) {
        return true;
      }
    }
    return false;
  }

  /** An owner's own name: the list of their sandboxes, for their keys only. */
  private Decision decideOwner(LoginName name, String fingerprint) {
    Optional<Owner> owner = store.findOwner(name.base());
    if (owner.isEmpty()) {
      return Decision.refused(LoginFailure.UNKNOWN_SANDBOX);
    }
    if (holds(owner.get(), fingerprint)) {
      return Decision.granted(new AuthenticatedSandbox(null, name.base(), fingerprint, name));
    }
    boolean someoneElses = store.listOwners().stream().anyMatch(o -> holds(o, fingerprint));
    return Decision.refused(
        someoneElses ? LoginFailure.NOT_OWNERS_KEY : LoginFailure.NO_MATCHING_KEY);
  }

  private static boolean holds(Owner owner, String fingerprint) {
    for (OwnerKey key : owner.keys()) {
      if (key.fingerprint().equals(fingerprint)) {
        return true;
      }
    }
    return false;
  }
}
