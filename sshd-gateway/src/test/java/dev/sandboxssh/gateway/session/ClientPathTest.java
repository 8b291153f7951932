package dev.sandboxssh.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ClientPathTest {
  private static final long OPENSSH_WINDOW = 2 * 1024 * 1024;
  private static final long PACKET = 32 * 1024;

  private static ClientPath withMinRtt(long micros) {
    return new ClientPath(() -> OptionalLong.of(micros));
  }

  @Test
  void onLoopbackAChannelKeepsHalfTheWindowAndAPacketInFlight() {
    // More than half: a client that reopens its window only below half of it must get there.
    assertThat(withMinRtt(10).windowToUse(OPENSSH_WINDOW, PACKET))
        .isEqualTo(OPENSSH_WINDOW / 2 + PACKET);
  }

  @Test
  void aLargerWindowOnLoopbackKeepsHalfOfIt() {
    long window = 64L * 1024 * 1024;
    assertThat(withMinRtt(10).windowToUse(window, PACKET)).isEqualTo(window / 2 + PACKET);
  }

  @Test
  void aSmallWindowKeepsTheLeastInFlight() {
    assertThat(withMinRtt(10).windowToUse(OPENSSH_WINDOW / 4, 1024))
        .isEqualTo(ClientPath.MIN_IN_FLIGHT);
  }

  @Test
  void aLongerRoundTripGetsWhatItNeedsAtTheRate() {
    // 0.8 ms: 1 GiB/s for twice that is about 1.7 MB (with RATE per microsecond rounded down).
    long window = 64L * 1024 * 1024;
    assertThat(withMinRtt(800).windowToUse(window, PACKET))
        .isEqualTo(window / 2 + PACKET)
        .isGreaterThan(2 * 800 * (ClientPath.RATE / 1_000_000));
    assertThat(withMinRtt(20_000).windowToUse(window, PACKET))
        .isEqualTo(2 * 20_000 * (ClientPath.RATE / 1_000_000))
        .isBetween(window / 2, window);
  }

  @Test
  void aDistantClientHasItsWholeWindowUsed() {
    assertThat(withMinRtt(20_000).windowToUse(OPENSSH_WINDOW, PACKET)).isEqualTo(OPENSSH_WINDOW);
  }

  @Test
  void aWindowSmallerThanTheLeastIsUsedAsItIs() {
    assertThat(withMinRtt(10).windowToUse(64 * 1024, PACKET)).isEqualTo(64 * 1024);
  }

  @Test
  void anUnknownRoundTripLeavesTheWindowAlone() {
    assertThat(new ClientPath(OptionalLong::empty).windowToUse(OPENSSH_WINDOW, PACKET))
        .isEqualTo(OPENSSH_WINDOW);
  }
}
