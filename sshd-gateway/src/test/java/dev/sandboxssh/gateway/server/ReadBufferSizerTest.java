package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReadBufferSizerTest {
  private static final int LARGE = 32 * 1024;
  private static final int SMALL = ReadBufferSizer.SMALL;

  @Test
  void startsSmallAndStaysSmallForKeystrokes() {
    ReadBufferSizer sizer = new ReadBufferSizer(LARGE);
    assertThat(sizer.initial()).isEqualTo(SMALL);
    for (int i = 0; i < 100; i++) {
      assertThat(sizer.afterRead(52, SMALL)).isEqualTo(SMALL);
    }
    assertThat(sizer.afterRead(SMALL - 1, SMALL)).isEqualTo(SMALL);
  }

  @Test
  void growsWhenAReadFillsTheSmallBuffer() {
    ReadBufferSizer sizer = new ReadBufferSizer(LARGE);
    assertThat(sizer.afterRead(SMALL, SMALL)).isEqualTo(LARGE);
    assertThat(sizer.afterRead(LARGE, LARGE)).isEqualTo(LARGE);
  }

  @Test
  void keepsTheLargeBufferThroughAPauseAndShrinksAfterARunOfShortReads() {
    ReadBufferSizer sizer = new ReadBufferSizer(LARGE);
    sizer.afterRead(SMALL, SMALL);
    for (int i = 1; i < ReadBufferSizer.SHRINK_AFTER; i++) {
      assertThat(sizer.afterRead(100, LARGE)).as("short read %d", i).isEqualTo(LARGE);
    }
    assertThat(sizer.afterRead(100, LARGE)).isEqualTo(SMALL);
  }

  @Test
  void aReadOfAtLeastTheSmallSizeRestartsTheCount() {
    ReadBufferSizer sizer = new ReadBufferSizer(LARGE);
    sizer.afterRead(SMALL, SMALL);
    for (int round = 0; round < 3; round++) {
      for (int i = 1; i < ReadBufferSizer.SHRINK_AFTER; i++) {
        assertThat(sizer.afterRead(100, LARGE)).isEqualTo(LARGE);
      }
      assertThat(sizer.afterRead(SMALL, LARGE)).isEqualTo(LARGE);
    }
  }

  @Test
  void refusesALargeSizeNoLargerThanTheSmallOne() {
    assertThatThrownBy(() -> new ReadBufferSizer(SMALL))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(String.valueOf(SMALL));
  }
}
