package dev.sandboxssh.gateway.auth;

import dev.sandboxssh.gateway.store.PublicKeys;
import dev.sandboxssh.gateway.store.StoreException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.PublicKey;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys that may no longer log in ({@code auth.revoked-keys}): an OpenSSH KRL or a file of
 * public keys, one per line, as sshd's RevokedKeys. A listed key is refused as a plain key and as
 * the key a certificate certifies; a listed CA refuses every certificate it signed. The file is
 * read again when it changes, so that a revocation takes effect at the next login; while it cannot
 * be read, every login is refused (a revoked key must never get in because a file went missing).
 */
public final class RevokedKeys {
  private static final Logger log = LoggerFactory.getLogger(RevokedKeys.class);

  /** A revocation list is at most a few MiB; anything larger is not one. */
  private static final long MAX_BYTES = 64L << 20;

  /** The outcome of a check. */
  public enum Verdict {
    ALLOWED,
    REVOKED,
    UNREADABLE
  }

  private final Path file;
  private FileTime loadedModified;
  private long loadedSize = -1;
  private Predicate<PublicKey> revoked = k -> false;
  private String unreadable;

  /** Revocations from {@code file}; null means none. */
  public RevokedKeys(Path file) {
    this.file = file;
  }

  /** Whether {@code key} (plain or certificate) may still be used. */
  public synchronized Verdict check(PublicKey key) {
    if (file == null) {
      return Verdict.ALLOWED;
    }
    reloadIfChanged();
    if (unreadable != null) {
      return Verdict.UNREADABLE;
    }
    if (revoked.test(key)) {
      return Verdict.REVOKED;
    }
    if (key instanceof OpenSshCertificate cert
        && (revoked.test(cert.getCertPubKey()) || revoked.test(cert.getCaPubKey()))) {
      return Verdict.REVOKED;
    }
    return Verdict.ALLOWED;
  }

  private void reloadIfChanged() {
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      if (a.lastModifiedTime().equals(loadedModified) && a.size() == loadedSize) {
        return;
      }
      if (a.size() > MAX_BYTES) {
        throw new IOException("larger than 64 MiB");
      }
      byte[] bytes = Files.readAllBytes(file);
      revoked = Krl.isKrl(bytes) ? Krl.parse(bytes)::isRevoked : keyList(bytes);
      loadedModified = a.lastModifiedTime();
      loadedSize = a.size();
      if (unreadable != null) {
        log.info("revoked keys {} readable again", file);
      }
      unreadable = null;
    } catch (IOException | StoreException e) {
      String why = String.valueOf(e.getMessage());
      if (!why.equals(unreadable)) {
        log.error("revoked keys {} unusable, refusing every login until fixed: {}", file, why);
      }
      unreadable = why;
      loadedModified = null;
    }
  }

  /** A plain list: keys matched by fingerprint. */
  private Predicate<PublicKey> keyList(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    Set<String> fingerprints = new HashSet<>();
    // A list with nothing (yet) revoked is fine; PublicKeys.parse insists on a key.
    boolean anyKey =
        text.lines().map(String::strip).anyMatch(l -> !l.isEmpty() && !l.startsWith("#"));
    if (anyKey) {
      for (PublicKeys.ParsedKey k : PublicKeys.parse(text, file.toString())) {
        fingerprints.add(k.ownerKey().fingerprint());
      }
    }
    return key ->
        !(key instanceof OpenSshCertificate) && fingerprints.contains(PublicKeys.fingerprint(key));
  }
}
