package dev.sandboxssh.agent.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.sandboxssh.api.v1.ProcessEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScrollbackTest {
  @Test
  void keepsTheLastBytes() {
    Scrollback scrollback = new Scrollback(10);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (String chunk : new String[] {"abc", "defgh", "ijklmn", "o", "", "pqrstuvwxyz0123"}) {
      byte[] bytes = chunk.getBytes(StandardCharsets.US_ASCII);
      scrollback.append(Scrollback.Stream.PTY, ByteString.copyFrom(bytes));
      all.writeBytes(bytes);
      byte[] everything = all.toByteArray();
      assertThat(bytes(scrollback))
          .as("after %s", chunk)
          .isEqualTo(
              Arrays.copyOfRange(
                  everything, Math.max(0, everything.length - 10), everything.length));
    }
  }

  @Test
  void replaysStdoutAndStderrInTheOrderWritten() {
    Scrollback scrollback = new Scrollback(1024);
    scrollback.append(Scrollback.Stream.STDOUT, ByteString.copyFromUtf8("one\n"));
    scrollback.append(Scrollback.Stream.STDOUT, ByteString.copyFromUtf8("two\n"));
    scrollback.append(Scrollback.Stream.STDERR, ByteString.copyFromUtf8("oops\n"));
    scrollback.append(Scrollback.Stream.STDOUT, ByteString.copyFromUtf8("three\n"));

    List<ProcessEvent> events = scrollback.replay(3);

    StringBuilder seen = new StringBuilder();
    for (ProcessEvent e : events) {
      assertThat(e.getStdout().size() + e.getStderr().size()).isBetween(1, 3);
      seen.append(
          e.hasStdout()
              ? "o:" + e.getStdout().toStringUtf8()
              : "e:" + e.getStderr().toStringUtf8());
      seen.append('|');
    }
    assertThat(seen.toString()).isEqualTo("o:one|o:\ntw|o:o\n|e:oop|e:s\n|o:thr|o:ee\n|");
  }

  @Test
  void forgetsWholePiecesAndCutsTheOldestOne() {
    Scrollback scrollback = new Scrollback(20 * 1024);
    byte[] big = new byte[16 * 1024];
    Arrays.fill(big, (byte) 'a');
    scrollback.append(Scrollback.Stream.STDOUT, ByteString.copyFrom(big));
    Arrays.fill(big, (byte) 'b');
    scrollback.append(Scrollback.Stream.STDERR, ByteString.copyFrom(big));

    List<ProcessEvent> events = scrollback.replay(64 * 1024);

    assertThat(events).hasSize(2);
    assertThat(events.get(0).getStdout().size()).isEqualTo(4 * 1024);
    assertThat(events.get(1).getStderr().size()).isEqualTo(16 * 1024);
    assertThat(bytes(scrollback)).hasSize(20 * 1024);
  }

  @Test
  void startsEmpty() {
    assertThat(bytes(new Scrollback(4))).isEmpty();
    assertThat(new Scrollback(4).replay(4)).isEmpty();
  }

  /** Every byte the scrollback would replay, oldest first. */
  private static byte[] bytes(Scrollback scrollback) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (ProcessEvent e : scrollback.replay(1024)) {
      out.writeBytes(
          (e.hasStdout() ? e.getStdout() : e.hasStderr() ? e.getStderr() : e.getPty())
              .toByteArray());
    }
    return out.toByteArray();
  }
}
