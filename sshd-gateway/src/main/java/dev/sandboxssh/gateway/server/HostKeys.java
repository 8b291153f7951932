package dev.sandboxssh.gateway.server;

import dev.sandboxssh.gateway.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyEncryptionContext;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.common.util.io.resource.PathResource;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's host keys, read from the keys dir:
 *
 * <ul>
 *   <li>{@code ssh_host_ed25519_key}, and {@code ssh_host_rsa_key} when {@code host-keys.rsa} is
 *       on: the <em>current</em> keys. Only they sign key exchange, one per algorithm, so a client
 *       always sees the key it already knows. Each is created on first start (OpenSSH format, mode
 *       0600) and reused afterwards.
 *   <li>{@code ssh_host_*_key.next} (any number, of any supported type, e.g. {@code
 *       ssh_host_ed25519_key.next} made by {@code ssh-keygen -f}): keys to come. Never used in key
 *       exchange; announced to clients after login together with the current keys (see {@link
 *       HostKeyAnnouncement}), so that OpenSSH clients with {@code UpdateHostKeys} learn them
 *       before one of them becomes current.
 * </ul>
 *
 * <p>Any of these files may be a symbolic link to a key kept elsewhere. Every other file in the dir
 * is ignored (public halves, {@code README.md}); an {@code ssh_host_*_key} that is not current (an
 * ECDSA key, or the RSA key with {@code host-keys.rsa} off) gets a warning. A key file that cannot
 * be read, is encrypted, holds anything but one private key of a supported type, or a current key
 * of another type than its name says stops the start with an error naming the file: a bad key is
 * never skipped, and an existing file is never replaced. A next key that repeats a key already
 * loaded is skipped with a warning (OpenSSH clients reject an announcement with duplicates).
 */
public final class HostKeys implements KeyPairProvider {
  private static final Logger log = LoggerFactory.getLogger(HostKeys.class);

  /** File name of the current ed25519 key. */
  public static final String ED25519_FILE = "ssh_host_ed25519_key";

  /** File name of the current RSA key, used only with {@code host-keys.rsa}. */
  public static final String RSA_FILE = "ssh_host_rsa_key";

  private static final Pattern NEXT = Pattern.compile("ssh_host_.+_key\\.next");
  private static final Pattern KEY = Pattern.compile("ssh_host_.+_key");

  /** Key types that can sign under {@link AlgorithmPolicy}. */
  static final Set<String> SUPPORTED_TYPES =
      Set.of(
          KeyPairProvider.SSH_ED25519,
          KeyPairProvider.SSH_RSA,
          KeyPairProvider.ECDSA_SHA2_NISTP256,
          KeyPairProvider.ECDSA_SHA2_NISTP384,
          KeyPairProvider.ECDSA_SHA2_NISTP521);

  private static final String NOT_A_KEY = "not an unencrypted private key in OpenSSH or PEM format";

  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  /** A loaded host key, the file it came from, and whether it signs key exchange. */
  public record HostKey(Path file, KeyPair pair, boolean current) {
    /** The public half. */
    public PublicKey publicKey() {
      return pair.getPublic();
    }

    /** Its SSH key type, e.g. {@code ssh-ed25519}. */
    public String type() {
      return KeyUtils.getKeyType(pair.getPublic());
    }
  }

  private final List<HostKey> keys;
  private final List<KeyPair> current;

  HostKeys(List<HostKey> keys) {
    this.keys = List.copyOf(keys);
    this.current = keys.stream().filter(HostKey::current).map(HostKey::pair).toList();
  }

  /**
   * Loads the keys in {@code dir} (created if missing), creating the missing current ones.
   *
   * @throws ConfigException naming every key file that cannot be used
   */
  public static HostKeys loadOrCreate(Path dir, boolean rsa) throws IOException {
    Files.createDirectories(dir);
    List<String> problems = new ArrayList<>();
    List<HostKey> keys = new ArrayList<>();
    currentKey(dir.resolve(ED25519_FILE), KeyPairProvider.SSH_ED25519, problems)
        .ifPresent(keys::add);
    if (rsa) {
      currentKey(dir.resolve(RSA_FILE), KeyPairProvider.SSH_RSA, problems).ifPresent(keys::add);
    }
    Set<String> currentNames = rsa ? Set.of(ED25519_FILE, RSA_FILE) : Set.of(ED25519_FILE);
    for (String name : names(dir)) {
      Path file = dir.resolve(name);
      if (KEY.matcher(name).matches() && !currentNames.contains(name)) {
        log.warn(
            "host key {} is not used: the current keys are {} and, with host-keys.rsa, {}; a key"
                + " to announce before it becomes current is named ssh_host_*_key.next",
            file,
            ED25519_FILE,
            RSA_FILE);
      } else if (NEXT.matcher(name).matches()) {
        KeyPair pair = read(file, problems);
        if (pair == null) {
          continue;
        }
        HostKey same = sameKey(keys, pair.getPublic());
        if (same != null) {
          log.warn("host key {} is skipped: it is the same key as {}", file, same.file());
        } else {
          keys.add(new HostKey(file, pair, false));
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new HostKeys(keys);
  }

  /** Every key, current ones first, then the next ones by file name. */
  public List<HostKey> all() {
    return keys;
  }

  /** The public keys announced to clients: every key, in {@link #all()} order. */
  public List<PublicKey> announced() {
    return keys.stream().map(HostKey::publicKey).toList();
  }

  /** The key pair (current or next) whose public half is {@code key}, or null if none is. */
  public KeyPair find(PublicKey key) {
    HostKey same = sameKey(keys, key);
    return same == null ? null : same.pair();
  }

  /** The keys that sign key exchange: the current ones only. */
  @Override
  public Iterable<KeyPair> loadKeys(SessionContext session) {
    return current;
  }

  private static HostKey sameKey(List<HostKey> keys, PublicKey key) {
    for (HostKey k : keys) {
      if (KeyUtils.compareKeys(k.publicKey(), key)) {
        return k;
      }
    }
    return null;
  }

  private static Optional<HostKey> currentKey(Path file, String type, List<String> problems)
      throws IOException {
    KeyPair pair;
    // A link to nothing is a key gone missing, not a first start.
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      pair = read(file, problems);
      if (pair == null) {
        return Optional.empty();
      }
      String actual = KeyUtils.getKeyType(pair.getPublic());
      if (!type.equals(actual)) {
        problems.add(
            "host key " + file + ": holds an " + actual + " key, where its name says " + type);
        return Optional.empty();
      }
    } else {
      pair = create(file, type);
    }
    return Optional.of(new HostKey(file, pair, true));
  }

  /** Reads the one unencrypted private key in {@code file}; null after adding a problem. */
  static KeyPair read(Path file, List<String> problems) {
    String where = "host key " + file + ": ";
    if (!Files.isRegularFile(file)) {
      problems.add(
          where
              + (Files.exists(file)
                  ? "not a regular file"
                  : Files.isSymbolicLink(file) ? "a symbolic link to nothing" : "no such file"));
      return null;
    }
    List<KeyPair> pairs = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file)) {
      Iterable<KeyPair> loaded =
          SecurityUtils.loadKeyPairIdentities(null, new PathResource(file), in, null);
      if (loaded != null) {
        loaded.forEach(pairs::add);
      }
    } catch (AccessDeniedException | NoSuchFileException e) {
      problems.add(where + "cannot be read (" + e.getClass().getSimpleName() + ")");
      return null;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      problems.add(
          where
              + NOT_A_KEY
              + " ("
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage())
              + ")");
      return null;
    }
    pairs.removeIf(p -> p == null || p.getPrivate() == null);
    if (pairs.isEmpty()) {
      problems.add(where + NOT_A_KEY);
      return null;
    }
    if (pairs.size() > 1) {
      problems.add(where + "holds " + pairs.size() + " keys, where one is needed");
      return null;
    }
    KeyPair pair = pairs.get(0);
    String type = KeyUtils.getKeyType(pair.getPublic());
    if (!SUPPORTED_TYPES.contains(type)) {
      problems.add(
          where
              + "holds an "
              + type
              + " key; host keys are one of "
              + new TreeSet<>(SUPPORTED_TYPES));
      return null;
    }
    try {
      ownerOnly(file);
    } catch (IOException e) {
      problems.add(
          where
              + "readable by others and its mode cannot be changed to 0600 ("
              + e.getClass().getSimpleName()
              + ")");
      return null;
    }
    return pair;
  }

  /** A host key is for the gateway's eyes only. */
  private static void ownerOnly(Path file) throws IOException {
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
    if (!OWNER_ONLY.containsAll(mode)) {
      Set<PosixFilePermission> tightened = EnumSet.copyOf(mode);
      tightened.retainAll(OWNER_ONLY);
      Files.setPosixFilePermissions(file, tightened);
    }
  }

  /** Generates a key of {@code type} into {@code file}: mode 0600 from the start, atomically. */
  private static KeyPair create(Path file, String type) throws IOException {
    KeyPair pair;
    try {
      if (KeyPairProvider.SSH_RSA.equals(type)) {
        KeyPairGenerator generator = SecurityUtils.getKeyPairGenerator(KeyUtils.RSA_ALGORITHM);
        generator.initialize(3072);
        pair = generator.generateKeyPair();
      } else {
        KeyPairGenerator generator = SecurityUtils.getKeyPairGenerator(SecurityUtils.EDDSA);
        generator.initialize(256);
        pair = generator.generateKeyPair();
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot generate a " + type + " host key: " + e.getMessage(), e);
    }
    Path dir = file.toAbsolutePath().getParent();
    Path tmp =
        Files.createTempFile(
            dir,
            "." + file.getFileName(),
            ".tmp",
            PosixFilePermissions.asFileAttribute(OWNER_ONLY));
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(
            pair, "host key", (OpenSSHKeyEncryptionContext) null, out);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot write host key " + file + ": " + e.getMessage(), e);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    log.info("created host key {} ({} {})", file, type, KeyUtils.getFingerPrint(pair.getPublic()));
    return pair;
  }

  private static List<String> names(Path dir) throws IOException {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        names.add(p.getFileName().toString());
      }
    }
    names.sort(null);
    return names;
  }
}
