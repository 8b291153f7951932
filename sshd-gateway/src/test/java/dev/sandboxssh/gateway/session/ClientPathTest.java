package dev.sandboxssh.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ClientPathTest {
  private static final long OPENSSH_WINDOW = 2 * 1024 * 1024;

  private static ClientPath withMinRtt(long micros) {
    return new ClientPath(() -> OptionalLong.of(micros));
  }

  @Test
  void onLoopbackAChannelKeepsTheLeastInFlight() {
    assertThat(withMinRtt(10).windowToUse(OPENSSH_WINDOW)).isEqualTo(ClientPath.MIN_IN_FLIGHT);
  }

  @Test
  void aLongerRoundTripGetsWhatItNeedsAtTheRate() {
    // 0.5 ms each way and back: 1 GiB/s for twice that is 1 MiB (with RATE per microsecond
    // rounded down).
    assertThat(withMinRtt(500).windowToUse(OPENSSH_WINDOW))
        .isEqualTo(2 * 500 * (ClientPath.RATE / 1_000_000))
        .isBetween(ClientPath.MIN_IN_FLIGHT, OPENSSH_WINDOW);
  }

  @Test
  void aDistantClientHasItsWholeWindowUsed() {
    assertThat(withMinRtt(20_000).windowToUse(OPENSSH_WINDOW)).isEqualTo(OPENSSH_WINDOW);
  }

  @Test
  void aWindowSmallerThanTheLeastIsUsedAsItIs() {
    assertThat(withMinRtt(10).windowToUse(64 * 1024)).isEqualTo(64 * 1024);
  }

  @Test
  void anUnknownRoundTripLeavesTheWindowAlone() {
    assertThat(new ClientPath(OptionalLong::empty).windowToUse(OPENSSH_WINDOW))
        .isEqualTo(OPENSSH_WINDOW);
  }
}
