package dev.sandboxssh.sdk;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * A file of the sandbox open in the caller's own process (see {@link Files#open}): positioned reads
 * and writes go to the file directly, not through the agent. Calls may come from several threads.
 */
public interface OpenFile extends Closeable {

  /** Reads into {@code dst} from {@code at}; the bytes read, or -1 at or past the end. */
  int read(ByteBuffer dst, long at) throws IOException;

  /** Writes all of {@code src} at {@code at} (for a file opened to append: at its end). */
  int write(ByteBuffer src, long at) throws IOException;

  /** The file's size now. */
  long size() throws IOException;

  /** Cuts or extends the file to {@code size} bytes. */
  void truncate(long size) throws IOException;

  /** Flushes the file's data and metadata to its disk (fsync). */
  void force() throws IOException;

  /** The file from its start, as a stream; closing the stream closes the file. */
  default InputStream asInputStream() {
    OpenFile file = this;
    return new InputStream() {
      private long at;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = file.read(ByteBuffer.wrap(b, off, len), at);
        if (n > 0) {
          at += n;
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        file.close();
      }
    };
  }

  /** Writes from the file's start on (or at its end, opened to append); closing closes the file. */
  default OutputStream asOutputStream() {
    OpenFile file = this;
    return new OutputStream() {
      private long at;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer src = ByteBuffer.wrap(b, off, len);
        while (src.hasRemaining()) {
          at += file.write(src, at);
        }
      }

      @Override
      public void close() throws IOException {
        file.close();
      }
    };
  }
}
