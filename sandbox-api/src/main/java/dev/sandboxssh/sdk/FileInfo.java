package dev.sandboxssh.sdk;

import java.nio.file.attribute.FileTime;

/**
 * What stat(2) or lstat(2) says about one file in a sandbox.
 *
 * @param name the last path component in a listing; the path as asked for stat/lstat
 * @param type regular file, directory, symlink or other
 * @param size size in bytes
 * @param mode the full st_mode: type and permission bits
 * @param uid numeric owner
 * @param gid numeric group
 * @param owner owner name, or the uid as text when the sandbox has no name for it
 * @param group group name, or the gid as text
 * @param atime last access, with the nanoseconds the filesystem keeps
 * @param mtime last modification, with the nanoseconds the filesystem keeps
 * @param nlink number of hard links
 * @param symlinkTarget a symlink's content, or "" for other types
 */
public record FileInfo(
    String name,
    Type type,
    long size,
    int mode,
    long uid,
    long gid,
    String owner,
    String group,
    FileTime atime,
    FileTime mtime,
    int nlink,
    String symlinkTarget) {

  /** The kinds of file the agent distinguishes. */
  public enum Type {
    REGULAR,
    DIRECTORY,
    SYMLINK,
    /** Devices, fifos, sockets. */
    OTHER
  }

  /** True for a directory. */
  public boolean isDirectory() {
    return type == Type.DIRECTORY;
  }

  /** True for a regular file. */
  public boolean isRegularFile() {
    return type == Type.REGULAR;
  }

  /** True for a symlink (only lstat and listings describe one). */
  public boolean isSymbolicLink() {
    return type == Type.SYMLINK;
  }

  /** The permission bits of {@link #mode}: 07777. */
  public int permissions() {
    return mode & 07777;
  }
}
