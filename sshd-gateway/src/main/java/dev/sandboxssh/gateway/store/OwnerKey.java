package dev.sandboxssh.gateway.store;

/**
 * One public key of an owner.
 *
 * @param fingerprint OpenSSH's {@code SHA256:...} fingerprint, what logins are matched by
 * @param authorizedKey the key as an authorized_keys line: {@code type base64 [comment]}
 */
public record OwnerKey(String fingerprint, String authorizedKey) {}
