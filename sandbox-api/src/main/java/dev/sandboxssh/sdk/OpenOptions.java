package dev.sandboxssh.sdk;

/**
 * How {@link Files#open} opens a file: for reading, writing or both; when writing, whether to
 * create it (exclusively), truncate it, or append to it, and the permission bits of a file it
 * creates (0 = 0644; the umask is not applied).
 */
public record OpenOptions(
    boolean read,
    boolean write,
    boolean create,
    boolean exclusive,
    boolean truncate,
    boolean append,
    int mode) {

  /** Checks that the write-only flags come with writing. */
  public OpenOptions {
    if (!write && (create || exclusive || truncate || append)) {
      throw new IllegalArgumentException("create, exclusive, truncate and append need write");
    }
    if (mode < 0 || mode > 07777) {
      throw new IllegalArgumentException("mode out of range: " + Integer.toOctalString(mode));
    }
  }

  /** Reading only. */
  public static OpenOptions reading() {
    return new OpenOptions(true, false, false, false, false, false, 0);
  }
}
