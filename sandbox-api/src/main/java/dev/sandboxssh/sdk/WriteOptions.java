package dev.sandboxssh.sdk;

/**
 * How {@link Files#write} opens a file, as open(2) flags.
 *
 * @param create create the file when missing
 * @param exclusive with {@code create}: fail with {@code FileAlreadyExistsException} when it exists
 * @param truncate truncate an existing file to 0 bytes first
 * @param append write at the end of the file; {@code offset} is ignored
 * @param offset where writing starts, in bytes
 * @param mode permission bits of a created file, exactly (the umask is not applied)
 * @param sync fsync before the write is reported done
 */
public record WriteOptions(
    boolean create,
    boolean exclusive,
    boolean truncate,
    boolean append,
    long offset,
    int mode,
    boolean sync) {

  /** Checks ranges. */
  public WriteOptions {
    if (offset < 0) {
      throw new IllegalArgumentException("offset must be >= 0, got " + offset);
    }
    if ((mode & ~07777) != 0) {
      throw new IllegalArgumentException(
          "mode has bits beyond 07777: " + Integer.toOctalString(mode));
    }
  }

  /** Create or truncate, mode 0644: what {@code > file} does in a shell. */
  public static WriteOptions replace() {
    return new WriteOptions(true, false, true, false, 0, 0644, false);
  }

  /** Create when missing, write at the end, mode 0644: {@code >> file}. */
  public static WriteOptions appending() {
    return new WriteOptions(true, false, false, true, 0, 0644, false);
  }

  /** Write into an existing file at {@code offset}, neither creating nor truncating it. */
  public static WriteOptions at(long offset) {
    return new WriteOptions(false, false, false, false, offset, 0644, false);
  }

  /** These options with {@code create} set as given. */
  public WriteOptions withCreate(boolean create) {
    return new WriteOptions(create, exclusive, truncate, append, offset, mode, sync);
  }

  /** These options with {@code exclusive} (and, when true, {@code create}) set as given. */
  public WriteOptions withExclusive(boolean exclusive) {
    return new WriteOptions(create || exclusive, exclusive, truncate, append, offset, mode, sync);
  }

  /** These options with {@code truncate} set as given. */
  public WriteOptions withTruncate(boolean truncate) {
    return new WriteOptions(create, exclusive, truncate, append, offset, mode, sync);
  }

  /** These options with {@code append} set as given. */
  public WriteOptions withAppend(boolean append) {
    return new WriteOptions(create, exclusive, truncate, append, offset, mode, sync);
  }

  /** These options starting at {@code offset}. */
  public WriteOptions withOffset(long offset) {
    return new WriteOptions(create, exclusive, truncate, append, offset, mode, sync);
  }

  /** These options with the permission bits of a created file. */
  public WriteOptions withMode(int mode) {
    return new WriteOptions(create, exclusive, truncate, append, offset, mode, sync);
  }

  /** These options with {@code sync} set as given. */
  public WriteOptions withSync(boolean sync) {
    return new WriteOptions(create, exclusive, truncate, append, offset, mode, sync);
  }
}
