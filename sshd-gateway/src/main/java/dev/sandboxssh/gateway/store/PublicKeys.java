package dev.sandboxssh.gateway.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.digest.BuiltinDigests;

/**
 * OpenSSH public keys as owners hand them in ({@code id_ed25519.pub}, authorized_keys lines) and
 * the fingerprints logins are matched by.
 */
public final class PublicKeys {

  /** A public-key file is a few KiB at most; refuse to read something else entirely. */
  private static final long MAX_FILE_BYTES = 1 << 20;

  private PublicKeys() {}

  /**
   * One key read from a file.
   *
   * @param key the decoded key
   * @param ownerKey its fingerprint and authorized_keys form (without options), as stored
   * @param hadOptions whether the line carried authorized_keys options, which the gateway does not
   *     enforce
   */
  public record ParsedKey(PublicKey key, OwnerKey ownerKey, boolean hadOptions) {}

  /**
   * OpenSSH's fingerprint of {@code key}: {@code SHA256:} and unpadded base64, as {@code ssh-keygen
   * -l} and sshd's logs print it. Logins are matched against {@link OwnerKey#fingerprint()} with
   * it.
   */
  public static String fingerprint(PublicKey key) {
    return KeyUtils.getFingerPrint(BuiltinDigests.sha256, key);
  }

  /** The stored form of {@code key}: fingerprint and {@code type base64 [comment]}. */
  public static OwnerKey ownerKey(PublicKey key, String comment) {
    String line = PublicKeyEntry.toString(key);
    if (comment != null && !comment.isBlank()) {
      line += " " + comment.strip();
    }
    return new OwnerKey(fingerprint(key), line);
  }

  /**
   * Reads every key of an authorized_keys-style file: one key per line, blank lines and {@code #}
   * comments ignored, options before the key allowed.
   *
   * @throws StoreException INVALID naming the file when it cannot be read, when any line is not a
   *     public key (all or nothing: a file is never half-accepted), or when it holds no key
   */
  public static List<ParsedKey> readFile(Path file) {
    String text;
    try {
      if (Files.size(file) > MAX_FILE_BYTES) {
        throw new StoreException(
            StoreException.Reason.INVALID, file + ": too large for a public-key file");
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new StoreException(
          StoreException.Reason.INVALID, "cannot read " + file + ": " + describe(e), e);
    }
    return parse(text, file.toString());
  }

  /**
   * Parses authorized_keys text; {@code source} names it in errors. Duplicate keys (same
   * fingerprint) are kept once.
   *
   * @throws StoreException INVALID when a line is not a public key or there is none
   */
  public static List<ParsedKey> parse(String text, String source) {
    Map<String, ParsedKey> keys = new LinkedHashMap<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = source + " line " + (i + 1);
      if (line.startsWith("-----BEGIN")) {
        throw new StoreException(
            StoreException.Reason.INVALID,
            where + ": this is a private key; give the public key (the .pub file)");
      }
      ParsedKey parsed = parseLine(line, where);
      keys.putIfAbsent(parsed.ownerKey().fingerprint(), parsed);
    }
    if (keys.isEmpty()) {
      throw new StoreException(StoreException.Reason.INVALID, source + " holds no public key");
    }
    return List.copyOf(new ArrayList<>(keys.values()));
  }

  /**
   * Parses one authorized_keys line ({@code [options] type base64 [comment]}).
   *
   * @throws StoreException INVALID naming {@code where} when it is not a usable public key
   */
  public static ParsedKey parseLine(String line, String where) {
    PublicKey key;
    AuthorizedKeyEntry entry;
    try {
      entry = AuthorizedKeyEntry.parseAuthorizedKeyEntry(line);
      if (entry == null) {
        throw new IllegalArgumentException("empty");
      }
      // FAILING: an unknown key type is an error here, not a silently skipped line.
      key = entry.resolvePublicKey(null, PublicKeyEntryResolver.FAILING);
    } catch (Exception e) {
      throw new StoreException(
          StoreException.Reason.INVALID, where + ": not an OpenSSH public key", e);
    }
    if (key == null) {
      throw new StoreException(
          StoreException.Reason.INVALID, where + ": unsupported key type " + entry.getKeyType());
    }
    if (key instanceof OpenSshCertificate) {
      // Certificates need a trusted CA to mean anything; the table holds plain keys only.
      throw new StoreException(
          StoreException.Reason.INVALID,
          where + ": a certificate, not a plain public key (give the key it certifies)");
    }
    boolean options = entry.getLoginOptions() != null && !entry.getLoginOptions().isEmpty();
    return new ParsedKey(key, ownerKey(key, entry.getComment()), options);
  }

  /**
   * Decodes the key of a stored {@link OwnerKey#authorizedKey()} line.
   *
   * @throws StoreException INVALID when it is not one
   */
  public static PublicKey decode(String authorizedKey) {
    return parseLine(authorizedKey, "stored key").key();
  }

  private static String describe(Exception e) {
    Throwable t = e instanceof java.io.UncheckedIOException u ? u.getCause() : e;
    if (t instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    if (t instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
