package dev.sandboxssh.gateway.store;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code serve} does with an empty ownership table: make the gateway usable at once by the
 * person who started it, with their own SSH keys and a sandbox {@code demo}.
 */
public final class FirstStart {

  private static final Logger log = LoggerFactory.getLogger(FirstStart.class);

  /** The id of the sandbox created on first start. */
  public static final String DEMO_SANDBOX = "demo";

  /** The admin command's jar where the gateway does not run from one (tests, an IDE). */
  private static final String BUILT_JAR = "sshd-gateway/target/sshd-gateway.jar";

  private FirstStart() {}

  /**
   * Same as {@link #bootstrapIfEmpty(OwnershipStore, Path, String, String, int)} for the OS user
   * running the gateway ({@code user.name}).
   */
  public static Optional<String> bootstrapIfEmpty(
      OwnershipStore store, Path userHome, String host, int port) {
    return bootstrapIfEmpty(store, userHome, System.getProperty("user.name"), host, port);
  }

  /**
   * When the store holds no owner and no sandbox, creates owner {@code userName} (sanitized) with
   * every public key in {@code userHome/.ssh/*.pub} and a local sandbox {@code demo}, and returns
   * the message to print: the exact {@code ssh} command to use. With no usable key it creates
   * nothing and returns how to add an owner. Returns empty when the store is not empty.
   *
   * @param host the address the gateway listens on; a wildcard address becomes localhost
   * @param port the port it actually listens on
   */
  public static Optional<String> bootstrapIfEmpty(
      OwnershipStore store, Path userHome, String userName, String host, int port) {
    if (!store.isEmpty()) {
      return Optional.empty();
    }
    Path sshDir = userHome.resolve(".ssh");
    List<OwnerKey> keys = readKeys(sshDir);
    String ownerName = ownerName(userName);
    if (keys.isEmpty()) {
      String jar = "java -jar " + jarPath();
      return Optional.of(
          "The ownership table is empty and "
              + sshDir
              + " holds no public key (*.pub), so no owner was created. Add one with:\n"
              + "  "
              + jar
              + " owner add "
              + ownerName
              + " --key YOUR_KEY.pub\n"
              + "  "
              + jar
              + " sandbox create --owner "
              + ownerName
              + " --id "
              + DEMO_SANDBOX);
    }
    try {
      store.addOwner(ownerName, keys);
    } catch (StoreException e) {
      if (e.reason() == StoreException.Reason.CONFLICT) {
        return Optional.empty(); // another gateway on the same table got there first
      }
      throw e;
    }
    try {
      store.createSandbox(
          new SandboxRecord(
              DEMO_SANDBOX,
              ownerName,
              SandboxRecord.Provider.LOCAL,
              null,
              null,
              SandboxRecord.State.CREATED,
              null));
    } catch (RuntimeException e) {
      // Leave the table as it was (empty), so the next start tries again.
      try {
        store.removeOwner(ownerName);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    return Optional.of(
        "Created owner "
            + ownerName
            + " with "
            + keys.size()
            + (keys.size() == 1 ? " key" : " keys")
            + " from "
            + sshDir
            + " and sandbox "
            + DEMO_SANDBOX
            + ". Connect with:\n  "
            + sshCommand(DEMO_SANDBOX, host, port));
  }

  /**
   * The jar this gateway runs from, as the admin commands are given it: relative to the working
   * directory when it is under it ({@code sshd-gateway/target/sshd-gateway.jar} in a checkout),
   * else absolute ({@code /opt/sandbox-ssh/sshd-gateway.jar} in the image).
   */
  static String jarPath() {
    Path jar;
    try {
      CodeSource source = FirstStart.class.getProtectionDomain().getCodeSource();
      jar = source == null ? null : Path.of(source.getLocation().toURI());
    } catch (URISyntaxException | RuntimeException e) {
      jar = null;
    }
    return jarPath(jar, Path.of(""));
  }

  /** {@link #jarPath()} for classes loaded from {@code location}, started in {@code cwd}. */
  static String jarPath(Path location, Path cwd) {
    if (location == null || !location.toString().endsWith(".jar")) {
      return BUILT_JAR; // classes in a directory: tests, an IDE
    }
    Path jar = location.toAbsolutePath().normalize();
    Path dir = cwd.toAbsolutePath().normalize();
    return (jar.startsWith(dir) ? dir.relativize(jar) : jar).toString();
  }

  /** The {@code ssh} command line that reaches {@code sandboxId} on a gateway at host:port. */
  public static String sshCommand(String sandboxId, String host, int port) {
    String target =
        host == null
                || host.isBlank()
                || host.equals("0.0.0.0")
                || host.equals("::")
                || host.equals("[::]")
            ? "localhost"
            : host;
    return "ssh " + (port == 22 ? "" : "-p " + port + " ") + sandboxId + "@" + target;
  }

  /**
   * An owner name made from an OS user name: lowercased, other characters replaced by {@code _}, at
   * most 32 characters; {@code owner} when nothing usable is left, or when it would be the demo
   * sandbox's id (an owner name and a sandbox id are never equal).
   */
  public static String ownerName(String userName) {
    if (userName == null) {
      return "owner";
    }
    StringBuilder b = new StringBuilder();
    for (char ch : userName.toLowerCase(Locale.ROOT).toCharArray()) {
      boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || "_.-".indexOf(ch) >= 0;
      b.append(ok ? ch : '_');
    }
    String name = b.toString();
    if (!name.isEmpty() && !Names.isOwnerName(name.substring(0, 1))) {
      name = "_" + name;
    }
    if (name.length() > 32) {
      name = name.substring(0, 32);
    }
    return Names.isOwnerName(name)
            && !name.chars().allMatch(c -> c == '_')
            && !name.equals(DEMO_SANDBOX)
        ? name
        : "owner";
  }

  /**
   * Every key of every readable {@code *.pub} file; a file that fails is skipped with a warning.
   */
  private static List<OwnerKey> readKeys(Path sshDir) {
    if (!Files.isDirectory(sshDir)) {
      return List.of();
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(sshDir, "*.pub")) {
      dir.forEach(files::add);
    } catch (IOException e) {
      log.warn("cannot list {}: {}", sshDir, e.toString());
      return List.of();
    }
    files.sort(null);
    Map<String, OwnerKey> keys = new LinkedHashMap<>();
    for (Path file : files) {
      if (!Files.isRegularFile(file)) {
        continue;
      }
      try {
        for (PublicKeys.ParsedKey k : PublicKeys.readFile(file)) {
          keys.putIfAbsent(k.ownerKey().fingerprint(), k.ownerKey());
        }
      } catch (StoreException e) {
        // id_ed25519-cert.pub and the like: not an owner key, not a reason to fail.
        log.warn("skipping {}: {}", file, e.getMessage());
      }
    }
    return List.copyOf(keys.values());
  }
}
