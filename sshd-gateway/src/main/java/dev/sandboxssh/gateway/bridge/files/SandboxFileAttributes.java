package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.FileInfo;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** What the agent said about a file, as the basic, posix and unix attribute views. */
final class SandboxFileAttributes implements PosixFileAttributes {
  private final FileInfo info;

  SandboxFileAttributes(FileInfo info) {
    this.info = info;
  }

  @Override
  public FileTime lastModifiedTime() {
    return info.mtime();
  }

  @Override
  public FileTime lastAccessTime() {
    return info.atime();
  }

  /** The agent reports no birth time; mtime is what sftp-server would report too. */
  @Override
  public FileTime creationTime() {
    return info.mtime();
  }

  @Override
  public boolean isRegularFile() {
    return info.isRegularFile();
  }

  @Override
  public boolean isDirectory() {
    return info.isDirectory();
  }

  @Override
  public boolean isSymbolicLink() {
    return info.isSymbolicLink();
  }

  @Override
  public boolean isOther() {
    return info.type() == FileInfo.Type.OTHER;
  }

  @Override
  public long size() {
    return info.size();
  }

  @Override
  public Object fileKey() {
    return null;
  }

  @Override
  public UserPrincipal owner() {
    return new NumericPrincipals.User(info.uid(), info.owner());
  }

  @Override
  public GroupPrincipal group() {
    return new NumericPrincipals.Group(info.gid(), info.group());
  }

  @Override
  public Set<PosixFilePermission> permissions() {
    return toPermissions(info.permissions());
  }

  /** The permission bits 0777 as a set (setuid, setgid and sticky have no place in it). */
  static Set<PosixFilePermission> toPermissions(int mode) {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE
    for (int i = 0; i < order.length; i++) {
      if ((mode & (0400 >> i)) != 0) {
        set.add(order[i]);
      }
    }
    return set;
  }

  /** The permission bits of a set. */
  static int toMode(Set<PosixFilePermission> permissions) {
    int mode = 0;
    for (PosixFilePermission p : permissions) {
      mode |= 0400 >> p.ordinal();
    }
    return mode;
  }

  /** The attributes of a view ("basic", "posix", "unix", "owner") as {@code readAttributes}. */
  Map<String, Object> toMap(String view) {
    Map<String, Object> map = new LinkedHashMap<>();
    if (view.equals("owner")) {
      map.put("owner", owner());
      return map;
    }
    map.put("lastModifiedTime", lastModifiedTime());
    map.put("lastAccessTime", lastAccessTime());
    map.put("creationTime", creationTime());
    map.put("size", size());
    map.put("isRegularFile", isRegularFile());
    map.put("isDirectory", isDirectory());
    map.put("isSymbolicLink", isSymbolicLink());
    map.put("isOther", isOther());
    map.put("fileKey", fileKey());
    if (view.equals("basic")) {
      return map;
    }
    map.put("permissions", permissions());
    map.put("owner", owner());
    map.put("group", group());
    if (view.equals("posix")) {
      return map;
    }
    map.put("uid", (int) info.uid());
    map.put("gid", (int) info.gid());
    map.put("mode", info.mode());
    map.put("nlink", info.nlink());
    map.put("ctime", lastModifiedTime());
    return map;
  }

  @Override
  public String toString() {
    return PosixFilePermissions.toString(permissions()) + " " + info;
  }
}
