package dev.sandboxssh.gateway.store;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

/** Opens the ownership table a gateway config names. */
public final class OwnershipStores {
  private OwnershipStores() {}

  /**
   * Opens {@link GatewayConfig#effectiveDatabaseUrl()} with the password of {@code
   * database-password-file}, cached for {@code database-cache-time}.
   *
   * @throws StoreException INVALID when the password file cannot be read, IO when the database
   *     cannot be opened
   */
  public static OwnershipStore open(GatewayConfig config) {
    String password = null;
    if (config.databasePasswordFile() != null) {
      try {
        // A Kubernetes Secret or `echo pw > file` ends the file with a newline; it is no part of
        // the password.
        password = Files.readString(config.databasePasswordFile(), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new StoreException(
            StoreException.Reason.INVALID,
            "cannot read database-password-file " + config.databasePasswordFile() + ": " + e,
            e);
      }
    }
    OwnershipStore store = JdbcOwnershipStore.open(config.effectiveDatabaseUrl(), password);
    if (config.databaseCacheTime().isZero()) {
      return store;
    }
    return new CachingOwnershipStore(store, config.databaseCacheTime(), System::nanoTime);
  }
}
