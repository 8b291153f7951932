package dev.sandboxssh.sdk;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/** Where a handle delivers one output chunk: a user's callback, or a stream written in place. */
@FunctionalInterface
interface OutputSink {
  void accept(ByteString data) throws IOException;

  /**
   * Writes each chunk's own bytes to {@code stream}. {@link ByteString#writeTo(OutputStream)} would
   * copy them first, in case the stream keeps the array; {@link CommandOptions#stdoutTo} documents
   * that it must not.
   */
  static OutputSink writingTo(OutputStream stream) {
    ByteOutput output =
        new ByteOutput() {
          @Override
          public void write(byte value) throws IOException {
            stream.write(value);
          }

          @Override
          public void write(byte[] value, int offset, int length) throws IOException {
            stream.write(value, offset, length);
          }

          @Override
          public void writeLazy(byte[] value, int offset, int length) throws IOException {
            stream.write(value, offset, length);
          }

          @Override
          public void write(ByteBuffer value) throws IOException {
            byte[] copy = new byte[value.remaining()];
            value.get(copy);
            stream.write(copy);
          }

          @Override
          public void writeLazy(ByteBuffer value) throws IOException {
            write(value);
          }
        };
    return data -> UnsafeByteOperations.unsafeWriteTo(data, output);
  }
}
