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
  STORE_ERROR("store-error");

  private final String label;

  LoginFailure(String label) {
    this.label = label;
  }

  /** The stable label used in logs. */
  public String label() {
    return label;
  }
}
