package dev.sandboxssh.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.OutputStream;
import org.junit.jupiter.api.Test;

class OutputSinkTest {
  @Test
  void aStreamSinkGetsTheChunksOwnArrayNotACopy() throws Exception {
    byte[] message = new byte[1000];
    message[10] = 42;
    ByteString chunk = UnsafeByteOperations.unsafeWrap(message, 10, 500);
    byte[][] seen = new byte[1][];
    int[] range = new int[2];
    OutputStream stream =
        new OutputStream() {
          @Override
          public void write(int b) {
            throw new AssertionError("one write of the whole chunk was expected");
          }

          @Override
          public void write(byte[] b, int off, int len) {
            seen[0] = b;
            range[0] = off;
            range[1] = len;
          }
        };

    OutputSink.writingTo(stream).accept(chunk);

    assertThat(seen[0]).isSameAs(message);
    assertThat(range).containsExactly(10, 500);
  }
}
