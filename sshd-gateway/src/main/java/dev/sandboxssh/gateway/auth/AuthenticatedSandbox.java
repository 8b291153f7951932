package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.session.LoginName;
import dev.sandboxssh.gateway.store.SandboxRecord;
import org.apache.sshd.common.AttributeRepository.AttributeKey;

/**
 * What a successful login established: the sandbox the SSH user name named (null when an owner
 * logged in under their own name), its owner, the key that proved it, and what the user name asked
 * for. Kept as a session attribute for the channels that follow.
 */
public record AuthenticatedSandbox(
    SandboxRecord sandbox, String owner, String keyFingerprint, LoginName name) {
  /** The session attribute under which a successful login is recorded. */
  public static final AttributeKey<AuthenticatedSandbox> KEY = new AttributeKey<>();
}
