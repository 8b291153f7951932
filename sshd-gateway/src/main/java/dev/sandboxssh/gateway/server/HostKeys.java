package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;

/**
 * The gateway's host keys: ed25519 always, RSA only when configured. Each is created on first start
 * in the keys dir with mode 0600 (OpenSSH format) and reused afterwards, so that clients see the
 * same fingerprint across restarts.
 */
public final class HostKeys implements KeyPairProvider {
  private final List<KeyPair> keys;

  private HostKeys(List<KeyPair> keys) {
    this.keys = List.copyOf(keys);
  }

  /** Loads the keys in {@code dir}, creating the missing ones. */
  public static HostKeys loadOrCreate(Path dir, boolean rsa) throws IOException {
    Files.createDirectories(dir);
    List<KeyPair> keys = new ArrayList<>();
    keys.add(load(dir.resolve("ssh_host_ed25519_key"), "EdDSA", 256));
    if (rsa) {
      keys.add(load(dir.resolve("ssh_host_rsa_key"), "RSA", 3072));
    }
    return new HostKeys(keys);
  }

  private static KeyPair load(Path file, String algorithm, int size) throws IOException {
    SimpleGeneratorHostKeyProvider provider = new SimpleGeneratorHostKeyProvider(file);
    provider.setAlgorithm(algorithm);
    provider.setKeySize(size);
    provider.setStrictFilePermissions(true);
    java.util.Iterator<KeyPair> loaded = provider.loadKeys(null).iterator();
    if (!loaded.hasNext()) {
      throw new IOException("cannot load or create host key " + file);
    }
    KeyPair key = loaded.next();
    // MINA writes the file with the process umask; a host key is for the gateway's eyes only.
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return key;
  }

  @Override
  public Iterable<KeyPair> loadKeys(SessionContext session) {
    return keys;
  }
}
