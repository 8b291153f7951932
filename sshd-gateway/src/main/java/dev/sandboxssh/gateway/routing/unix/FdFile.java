package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import dev.sandboxssh.sdk.OpenFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;

/**
 * A sandbox file whose open descriptor the agent handed over, read and written with pread(2) and
 * pwrite(2). The kernel holds the descriptor to the access mode the agent opened it with, as the
 * sandbox's user: the gateway's own privileges never come into play.
 */
final class FdFile implements OpenFile {
  /** Bytes per system call, and the staging buffer's size. */
  private static final int CHUNK = 256 * 1024;

  private final Descriptor fd;
  private final String path;
  private Memory staging; // guarded by this

  FdFile(int fd, String path) {
    this.fd = new Descriptor(fd);
    this.path = path;
  }

  private Memory staging() {
    if (staging == null) {
      staging = new Memory(CHUNK);
    }
    return staging;
  }

  private void enter() throws IOException {
    if (!fd.acquire()) {
      throw new ClosedChannelException();
    }
  }

  private IOException failure(String call, LastErrorException e) {
    return new IOException(call + " " + path + " failed: errno " + e.getErrorCode());
  }

  @Override
  public synchronized int read(ByteBuffer dst, long at) throws IOException {
    if (!dst.hasRemaining()) {
      return 0;
    }
    enter();
    try {
      int total = 0;
      while (dst.hasRemaining()) {
        int want = Math.min(dst.remaining(), CHUNK);
        int n;
        try {
          n = Posix.C.pread(fd.fd, staging(), new NativeLong(want), at + total).intValue();
        } catch (LastErrorException e) {
          if (e.getErrorCode() == Posix.EINTR) {
            continue;
          }
          throw failure("read", e);
        }
        if (n == 0) {
          break;
        }
        moveOut(n, dst);
        total += n;
      }
      return total == 0 ? -1 : total;
    } finally {
      fd.release();
    }
  }

  @Override
  public synchronized int write(ByteBuffer src, long at) throws IOException {
    enter();
    try {
      int total = 0;
      while (src.hasRemaining()) {
        int n = Math.min(src.remaining(), CHUNK);
        moveIn(src, n);
        for (int done = 0; done < n; ) {
          try {
            long offset = at + total + done;
            done +=
                Posix.C.pwrite(fd.fd, staging.share(done), new NativeLong(n - done), offset)
                    .intValue();
          } catch (LastErrorException e) {
            if (e.getErrorCode() != Posix.EINTR) {
              throw failure("write", e);
            }
          }
        }
        total += n;
      }
      return total;
    } finally {
      fd.release();
    }
  }

  // The staging buffer is copied straight to or from the caller's array (MINA's SFTP server reads
  // into and writes from heap buffers): one copy per byte each way, and no array allocated per
  // call, where a transfer of 1 GB had allocated 1 GB.
  private void moveOut(int n, ByteBuffer dst) {
    if (dst.hasArray()) {
      staging.read(0, dst.array(), dst.arrayOffset() + dst.position(), n);
      dst.position(dst.position() + n);
    } else {
      dst.put(staging.getByteBuffer(0, n));
    }
  }

  private void moveIn(ByteBuffer src, int n) {
    if (src.hasArray()) {
      staging().write(0, src.array(), src.arrayOffset() + src.position(), n);
    } else {
      staging().getByteBuffer(0, n).put(src.slice(src.position(), n));
    }
    src.position(src.position() + n);
  }

  @Override
  public long size() throws IOException {
    enter();
    try {
      return Posix.C.lseek(fd.fd, 0, Posix.SEEK_END);
    } catch (LastErrorException e) {
      throw failure("size of", e);
    } finally {
      fd.release();
    }
  }

  @Override
  public void truncate(long size) throws IOException {
    enter();
    try {
      Posix.C.ftruncate(fd.fd, size);
    } catch (LastErrorException e) {
      throw failure("truncate", e);
    } finally {
      fd.release();
    }
  }

  @Override
  public void force() throws IOException {
    enter();
    try {
      Posix.C.fsync(fd.fd);
    } catch (LastErrorException e) {
      throw failure("fsync", e);
    } finally {
      fd.release();
    }
  }

  @Override
  public void close() {
    fd.close();
  }
}
