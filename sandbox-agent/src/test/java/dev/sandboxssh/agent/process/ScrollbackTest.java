package dev.sandboxssh.agent.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ScrollbackTest {
  @Test
  void keepsTheLastBytesAcrossTheRingsEnd() {
    Scrollback scrollback = new Scrollback(10);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (String chunk : new String[] {"abc", "defgh", "ijklmn", "o", "", "pqrstuvwxyz0123"}) {
      byte[] bytes = chunk.getBytes(StandardCharsets.US_ASCII);
      scrollback.append(ByteString.copyFrom(bytes));
      all.writeBytes(bytes);
      byte[] everything = all.toByteArray();
      assertThat(scrollback.snapshot())
          .as("after %s", chunk)
          .isEqualTo(
              Arrays.copyOfRange(
                  everything, Math.max(0, everything.length - 10), everything.length));
    }
  }

  @Test
  void startsEmpty() {
    assertThat(new Scrollback(4).snapshot()).isEmpty();
  }
}
