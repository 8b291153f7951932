package dev.sandboxssh.sdk;

/**
 * statvfs(2) of the filesystem holding a path in a sandbox; counts the agent cannot learn are 0.
 *
 * @param blockSize f_bsize, bytes
 * @param fragmentSize f_frsize, bytes: the unit of the block counts
 * @param blocks f_blocks
 * @param blocksFree f_bfree
 * @param blocksAvailable f_bavail: free to unprivileged users
 * @param files f_files: inodes
 * @param filesFree f_ffree
 * @param filesAvailable f_favail
 * @param fsid f_fsid
 * @param flags f_flag (1 = ST_RDONLY)
 * @param nameMax f_namemax
 */
public record FileSystemStats(
    long blockSize,
    long fragmentSize,
    long blocks,
    long blocksFree,
    long blocksAvailable,
    long files,
    long filesFree,
    long filesAvailable,
    long fsid,
    long flags,
    long nameMax) {}
