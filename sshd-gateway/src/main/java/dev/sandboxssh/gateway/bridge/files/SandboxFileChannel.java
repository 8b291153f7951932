package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.Files;
import dev.sandboxssh.sdk.OpenFile;
import dev.sandboxssh.sdk.WriteOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * An open file of a sandbox. The agent's API is streams, not positioned calls, so that a transfer
 * costs no round trip per SFTP request: reads at the offset where the previous read ended reuse one
 * Read stream (which the agent fills ahead), writes at the offset where the previous write ended
 * reuse one Write stream; any other offset (a seek, a resumed transfer) closes the stream and opens
 * one there. Write errors of the agent (a full disk) surface on a later write, on {@link #force} or
 * on {@link #close}: never silently lost.
 *
 * <p>For a sandbox whose agent runs on this host the file is instead open in the gateway itself
 * (see {@link Files#open}), and reads and writes are plain positioned system calls.
 */
final class SandboxFileChannel extends FileChannel {
  /** A forward seek shorter than this reads and drops bytes instead of opening a new stream. */
  private static final long SKIP_LIMIT = 256 * 1024;

  private static final int COPY_CHUNK = 64 * 1024;

  private final SandboxFileSystem fs;
  private final String path;
  private final Files files;
  private final boolean readable;
  private final boolean writable;
  private final boolean append;
  private final TransferMeter meter;
  // The file open in this process, or null when the agent's streams carry it.
  private final OpenFile direct;
  private long position;
  private InputStream reader;
  private long readerAt;
  private OutputStream writer;
  private long writerAt;

  SandboxFileChannel(
      SandboxFileSystem fs,
      String path,
      Files files,
      boolean readable,
      boolean writable,
      boolean append,
      OpenFile direct) {
    this.fs = fs;
    this.path = path;
    this.files = files;
    this.readable = readable;
    this.writable = writable;
    this.append = append;
    this.meter = fs.meter();
    this.direct = direct;
  }

  /** Opens the Read stream at 0 now, so that a missing or unreadable file fails the open. */
  void openReaderAtStart() throws IOException {
    reader = files.read(path, 0, 0);
    readerAt = 0;
  }

  @Override
  public synchronized int read(ByteBuffer dst) throws IOException {
    int n = read(dst, position);
    if (n > 0) {
      position += n;
    }
    return n;
  }

  @Override
  public synchronized long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    long total = 0;
    for (int i = offset; i < offset + length; i++) {
      int n = read(dsts[i]);
      if (n < 0) {
        return total == 0 ? -1 : total;
      }
      total += n;
      if (dsts[i].hasRemaining()) {
        break;
      }
    }
    return total;
  }

  /** Fills {@code dst} from {@code at} as far as the file goes; -1 at end of file. */
  @Override
  public synchronized int read(ByteBuffer dst, long at) throws IOException {
    ensureOpen();
    if (!readable) {
      throw new NonReadableChannelException();
    }
    if (direct != null) {
      int n = direct.read(dst, at);
      meter.bytesOut(Math.max(n, 0));
      return n;
    }
    commitWrites();
    positionReader(at);
    int total = 0;
    byte[] chunk = dst.hasArray() ? null : new byte[Math.min(dst.remaining(), COPY_CHUNK)];
    while (dst.hasRemaining()) {
      int n;
      if (chunk == null) {
        n = reader.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
        if (n > 0) {
          dst.position(dst.position() + n);
        }
      } else {
        n = reader.read(chunk, 0, Math.min(chunk.length, dst.remaining()));
        if (n > 0) {
          dst.put(chunk, 0, n);
        }
      }
      if (n < 0) {
        // Drop the finished stream: a later read reopens, and sees the file if it grew.
        closeReader();
        break;
      }
      total += n;
      readerAt += n;
    }
    meter.bytesOut(total);
    return total == 0 && reader == null ? -1 : total;
  }

  private void positionReader(long at) throws IOException {
    if (reader != null && at > readerAt && at - readerAt <= SKIP_LIMIT) {
      readerAt += reader.skip(at - readerAt);
    }
    if (reader != null && readerAt == at) {
      return;
    }
    closeReader();
    reader = files.read(path, at, 0);
    readerAt = at;
  }

  private void closeReader() throws IOException {
    if (reader != null) {
      InputStream r = reader;
      reader = null;
      r.close();
    }
  }

  @Override
  public synchronized int write(ByteBuffer src) throws IOException {
    if (append) {
      return write(src, -1);
    }
    int n = write(src, position);
    position += n;
    return n;
  }

  @Override
  public synchronized long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    long total = 0;
    for (int i = offset; i < offset + length; i++) {
      total += write(srcs[i]);
    }
    return total;
  }

  /** Writes {@code src} at {@code at} (-1: at the end, for append mode). */
  @Override
  public synchronized int write(ByteBuffer src, long at) throws IOException {
    ensureOpen();
    if (!writable) {
      throw new NonWritableChannelException();
    }
    if (direct != null) {
      // Opened to append, the file takes every write at its end whatever the offset.
      int n = direct.write(src, Math.max(at, 0));
      meter.bytesIn(n);
      return n;
    }
    closeReader();
    if (writer == null || (at >= 0 && at != writerAt)) {
      commitWrites();
      WriteOptions options =
          new WriteOptions(false, false, false, at < 0, Math.max(at, 0), 0644, false);
      writer = files.write(path, options);
      writerAt = Math.max(at, 0);
    }
    int n = src.remaining();
    if (src.hasArray()) {
      writer.write(src.array(), src.arrayOffset() + src.position(), n);
      src.position(src.limit());
    } else {
      byte[] copy = new byte[n];
      src.get(copy);
      writer.write(copy);
    }
    writerAt += n;
    meter.bytesIn(n);
    return n;
  }

  /** Closes the Write stream, waiting until the agent wrote everything, and throws its error. */
  synchronized void commitWrites() throws IOException {
    if (writer != null) {
      OutputStream w = writer;
      writer = null;
      w.close();
    }
  }

  @Override
  public synchronized long position() throws IOException {
    ensureOpen();
    return position;
  }

  @Override
  public synchronized FileChannel position(long newPosition) throws IOException {
    ensureOpen();
    if (newPosition < 0) {
      throw new IllegalArgumentException("negative position " + newPosition);
    }
    position = newPosition;
    return this;
  }

  /** The file's size, counting bytes written through this channel that are still in flight. */
  @Override
  public synchronized long size() throws IOException {
    ensureOpen();
    if (direct != null) {
      return direct.size();
    }
    long size = files.stat(path).size();
    return writer != null ? Math.max(size, writerAt) : size;
  }

  @Override
  public synchronized FileChannel truncate(long size) throws IOException {
    ensureOpen();
    if (!writable) {
      throw new NonWritableChannelException();
    }
    commitWrites();
    closeReader();
    if (direct != null) {
      direct.truncate(size);
    } else {
      files.truncate(path, size);
    }
    position = Math.min(position, size);
    return this;
  }

  /** Commits buffered writes and has the agent fsync the file (fsync@openssh.com). */
  @Override
  public synchronized void force(boolean metaData) throws IOException {
    ensureOpen();
    commitWrites();
    if (direct != null) {
      direct.force();
    } else if (writable) {
      files.write(path, new WriteOptions(false, false, false, true, 0, 0644, true)).close();
    }
  }

  @Override
  public long transferTo(long at, long count, WritableByteChannel target) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(COPY_CHUNK, Math.max(count, 1)));
    long done = 0;
    while (done < count) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), count - done));
      int n = read(buffer, at + done);
      if (n <= 0) {
        break;
      }
      buffer.flip();
      while (buffer.hasRemaining()) {
        target.write(buffer);
      }
      done += n;
    }
    return done;
  }

  @Override
  public long transferFrom(ReadableByteChannel source, long at, long count) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(COPY_CHUNK, Math.max(count, 1)));
    long done = 0;
    while (done < count) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), count - done));
      int n = source.read(buffer);
      if (n <= 0) {
        break;
      }
      buffer.flip();
      write(buffer, at + done);
      done += n;
    }
    return done;
  }

  /** Not offered: the agent's files cannot be mapped into the gateway's memory. */
  @Override
  public MappedByteBuffer map(MapMode mode, long at, long size) {
    throw new UnsupportedOperationException("memory mapping a sandbox file");
  }

  /** Not offered: byte-range locks would have to live in the agent. */
  @Override
  public FileLock lock(long at, long size, boolean shared) {
    throw new UnsupportedOperationException("byte-range locks on sandbox files");
  }

  /** Not offered, as {@link #lock}. */
  @Override
  public FileLock tryLock(long at, long size, boolean shared) {
    throw new UnsupportedOperationException("byte-range locks on sandbox files");
  }

  private void ensureOpen() throws ClosedChannelException {
    if (!isOpen()) {
      throw new ClosedChannelException();
    }
  }

  /** Ends both agent streams; a write error (a full disk) is thrown here. */
  @Override
  protected void implCloseChannel() throws IOException {
    synchronized (this) {
      try {
        try {
          closeReader();
          if (direct != null) {
            direct.close();
          }
        } finally {
          commitWrites();
        }
      } finally {
        fs.closed(this);
        fs.provider().released();
      }
    }
  }

  @Override
  public String toString() {
    return "SandboxFileChannel[" + path + "]";
  }
}
