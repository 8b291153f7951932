package dev.sandboxssh.gateway.store;

import java.util.List;
import java.util.Optional;

/**
 * Owners, their public keys, and sandboxes: who may reach what.
 *
 * <p>Every read goes to the database, so that admin commands run by another process take effect at
 * the next login without a restart. Methods block on I/O: call them off MINA's I/O threads.
 *
 * <p>Owner names and sandbox ids follow {@link Names}; a lookup by a malformed name finds nothing.
 * A sandbox created without an id gets {@link Names#newSandboxId()}.
 */
public interface OwnershipStore extends AutoCloseable {

  /**
   * Adds an owner with OpenSSH public keys and trusted user certificate authorities (CA public
   * keys); at least one of either.
   *
   * @throws StoreException with {@link StoreException.Reason#CONFLICT} when the name exists, {@link
   *     StoreException.Reason#INVALID} for a bad name or neither keys nor CAs
   */
  Owner addOwner(String name, List<OwnerKey> keys, List<OwnerKey> cas);

  /**
   * Adds an owner with one or more OpenSSH public keys; see {@link #addOwner(String, List, List)}.
   */
  default Owner addOwner(String name, List<OwnerKey> keys) {
    return addOwner(name, keys, List.of());
  }

  /** All owners with their keys, by name. */
  List<Owner> listOwners();

  /** The owner of that name, if any. */
  Optional<Owner> findOwner(String name);

  /**
   * Removes an owner, its keys and its sandboxes' rows.
   *
   * @throws StoreException with {@link StoreException.Reason#NOT_FOUND} when there is none
   */
  void removeOwner(String name);

  /**
   * Adds a sandbox.
   *
   * @throws StoreException CONFLICT for a duplicate id, NOT_FOUND for an unknown owner, INVALID for
   *     an id that is not a DNS label
   */
  SandboxRecord createSandbox(SandboxRecord sandbox);

  /** The sandbox of that id, if any. */
  Optional<SandboxRecord> findSandbox(String id);

  /** All sandboxes, by id. */
  List<SandboxRecord> listSandboxes();

  /**
   * Deletes a sandbox's row.
   *
   * @throws StoreException NOT_FOUND when there is none
   */
  void deleteSandbox(String id);

  /** Records the state a provider last saw a sandbox in; a sandbox deleted meanwhile is ignored. */
  void updateState(String id, SandboxRecord.State state);

  /** Whether no owner and no sandbox exist yet (a first start). */
  boolean isEmpty();

  @Override
  void close();
}
