package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.server.SourcePenalties.Kind;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SourcePenaltiesTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  private SourcePenalties penalties(List<String> exempt) {
    return new SourcePenalties(
        new GatewayConfig.Penalties(
            true,
            Duration.ofSeconds(5),
            Duration.ofSeconds(1),
            Duration.ofSeconds(10),
            Duration.ofSeconds(15),
            Duration.ofSeconds(60),
            exempt),
        now::get);
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  private static InetAddress ip(String literal) throws Exception {
    return InetAddress.getByName(literal);
  }

  @Test
  void aSourceIsRefusedOnceItOwesTheMinimumAndUntilItHasRunOut() throws Exception {
    SourcePenalties p = penalties(List.of());
    InetAddress bad = ip("192.0.2.7");
    assertThat(p.penalise(bad, Kind.AUTH_FAILURE)).isEmpty();
    assertThat(p.penalise(bad, Kind.AUTH_FAILURE)).isEmpty();
    assertThat(p.refusedFor(bad)).isZero();
    // The third failure brings it to 15 s: refused from now, reported once.
    assertThat(p.penalise(bad, Kind.AUTH_FAILURE)).contains(Duration.ofSeconds(15));
    assertThat(p.refusedFor(bad)).isEqualTo(Duration.ofSeconds(15));
    assertThat(p.penalise(bad, Kind.AUTH_FAILURE)).isEmpty();
    assertThat(p.refusedFor(bad)).isEqualTo(Duration.ofSeconds(20));
    advance(Duration.ofSeconds(19));
    assertThat(p.refusedFor(bad)).isEqualTo(Duration.ofSeconds(1));
    advance(Duration.ofSeconds(1));
    assertThat(p.refusedFor(bad)).isZero();
  }

  @Test
  void penaltiesRunOutInRealTimeAndNeverPassTheMaximum() throws Exception {
    SourcePenalties p = penalties(List.of());
    InetAddress slow = ip("192.0.2.8");
    for (int i = 0; i < 10; i++) {
      assertThat(p.penalise(slow, Kind.NO_AUTH)).isEmpty();
      advance(Duration.ofSeconds(2)); // each 1 s penalty runs out before the next
    }
    assertThat(p.refusedFor(slow)).isZero();
    for (int i = 0; i < 100; i++) {
      p.penalise(slow, Kind.GRACE_EXCEEDED);
    }
    assertThat(p.refusedFor(slow)).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void oneSourceNeverRefusesAnother() throws Exception {
    SourcePenalties p = penalties(List.of());
    for (int i = 0; i < 5; i++) {
      p.penalise(ip("192.0.2.9"), Kind.AUTH_FAILURE);
      p.penalise(ip("2001:db8:1:2::1"), Kind.AUTH_FAILURE);
    }
    assertThat(p.refusedFor(ip("192.0.2.9"))).isPositive();
    assertThat(p.refusedFor(ip("192.0.2.10"))).isZero();
    // An IPv6 source is its /64: another address of it is the same host, another /64 is not.
    assertThat(p.refusedFor(ip("2001:db8:1:2::ffff"))).isPositive();
    assertThat(p.refusedFor(ip("2001:db8:1:3::1"))).isZero();
    assertThat(SourcePenalties.key(ip("2001:db8:1:2::1"))).isEqualTo("2001:db8:1:2:0:0:0:0/64");
  }

  @Test
  void exemptRangesAndDisabledPenaltiesRefuseNobody() throws Exception {
    SourcePenalties p = penalties(List.of("10.0.0.0/8", "192.0.2.1"));
    for (int i = 0; i < 10; i++) {
      assertThat(p.penalise(ip("10.1.2.3"), Kind.AUTH_FAILURE)).isEqualTo(Optional.empty());
      p.penalise(ip("192.0.2.1"), Kind.AUTH_FAILURE);
      p.penalise(ip("192.0.2.2"), Kind.AUTH_FAILURE);
    }
    assertThat(p.refusedFor(ip("10.1.2.3"))).isZero();
    assertThat(p.refusedFor(ip("192.0.2.1"))).isZero();
    assertThat(p.refusedFor(ip("192.0.2.2"))).isPositive();

    GatewayConfig.Penalties off = GatewayConfig.defaults().preAuth().penalties();
    SourcePenalties disabled =
        new SourcePenalties(
            new GatewayConfig.Penalties(
                false,
                off.authFailure(),
                off.noAuth(),
                off.graceExceeded(),
                off.min(),
                off.max(),
                List.of()),
            now::get);
    for (int i = 0; i < 10; i++) {
      disabled.penalise(ip("192.0.2.3"), Kind.AUTH_FAILURE);
    }
    assertThat(disabled.refusedFor(ip("192.0.2.3"))).isZero();
  }
}
