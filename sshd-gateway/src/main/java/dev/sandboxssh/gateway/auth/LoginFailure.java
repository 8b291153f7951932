package dev.sandboxssh.gateway.auth;

/**
 * Why a login was refused. Logged precisely for operators; the client only ever sees "Permission
 * denied (publickey)", so that sandbox ids and key ownership cannot be probed.
 */
public enum LoginFailure {
  /** No sandbox has the SSH user name as its id. */
  UNKNOWN_SANDBOX("unknown-sandbox"),
  /** The key belongs to an owner, but not to this sandbox's owner. */
  FOREIGN_SANDBOX("foreign-sandbox"),
  /** The user name is an owner's, and the key is not one of that owner's. */
  NOT_OWNERS_KEY("not-owners-key"),
  /** The key belongs to no owner at all. */
  NO_MATCHING_KEY("no-matching-key"),
  /** The ownership table could not be read. */
  STORE_ERROR("store-error"),
  /** A certificate signed by a CA that no owner trusts. */
  UNTRUSTED_CA("untrusted-ca"),
  /** A certificate whose principals name neither the sandbox nor the owner, as configured. */
  CERT_PRINCIPAL("cert-principal"),
  /** A certificate past its validity. */
  CERT_EXPIRED("cert-expired"),
  /** A certificate not valid yet. */
  CERT_NOT_YET_VALID("cert-not-yet-valid"),
  /** A certificate used from an address its {@code source-address} option does not list. */
  CERT_SOURCE_ADDRESS("cert-source-address"),
  /** A certificate with a critical option the gateway does not implement (force-command, ...). */
  CERT_CRITICAL_OPTION("cert-critical-option"),
  /** A host certificate, or one whose CA signature does not verify. */
  CERT_INVALID("cert-invalid"),
  /** A key blob that does not parse, or goes on past its key (OpenSSH refuses both). */
  MALFORMED_KEY("malformed-key"),
  /** A signature algorithm the gateway does not verify (ssh-dss, or any unknown name). */
  UNSUPPORTED_ALGORITHM("unsupported-algorithm"),
  /**
   * An owner's key offered with a signature that does not verify: a client that holds the public
   * key but not its private half.
   */
  BAD_SIGNATURE("bad-signature"),
  /** A key, certificate or CA listed in the revoked-keys file. */
  REVOKED_KEY("revoked-key"),
  /** The revoked-keys file cannot be read: every login is refused until it can. */
  REVOCATION_LIST_UNREADABLE("revocation-list-unreadable");

  private final String label;

  LoginFailure(String label) {
    this.label = label;
  }

  /** The stable label used in logs. */
  public String label() {
    return label;
  }
}
