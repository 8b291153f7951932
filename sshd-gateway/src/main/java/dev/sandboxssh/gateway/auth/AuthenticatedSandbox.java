package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.store.SandboxRecord;
import org.apache.sshd.common.AttributeRepository.AttributeKey;

/**
 * What a successful login established: the sandbox the SSH user name named, its owner, and the key
 * that proved it. Kept as a session attribute for the channels that follow.
 */
public record AuthenticatedSandbox(SandboxRecord sandbox, String owner, String keyFingerprint) {
  /** The session attribute under which a successful login is recorded. */
  public static final AttributeKey<AuthenticatedSandbox> KEY = new AttributeKey<>();
}
