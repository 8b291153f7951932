package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.store.Owner;
import dev.sandboxssh.gateway.store.OwnerKey;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.SandboxRecord;
import java.util.Optional;

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

  /** Checks against {@code store}, reading it afresh at every login. */
  public OwnershipCheck(OwnershipStore store) {
    this.store = store;
  }

  /** Whether the key with {@code fingerprint} may open sandbox {@code sandboxId}. Blocks on I/O. */
  public Decision decide(String sandboxId, String fingerprint) {
    Optional<SandboxRecord> sandbox = store.findSandbox(sandboxId);
    if (sandbox.isEmpty()) {
      return Decision.refused(LoginFailure.UNKNOWN_SANDBOX);
    }
    String ownerName = sandbox.get().owner();
    Optional<Owner> owner = store.findOwner(ownerName);
    if (owner.isPresent() && holds(owner.get(), fingerprint)) {
      return Decision.granted(new AuthenticatedSandbox(sandbox.get(), ownerName, fingerprint));
    }
    // Only the log tells a stranger's key from another owner's: both are refused alike.
    boolean someoneElses = store.listOwners().stream().anyMatch(o -> holds(o, fingerprint));
    return Decision.refused(
        someoneElses ? LoginFailure.FOREIGN_SANDBOX : LoginFailure.NO_MATCHING_KEY);
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
