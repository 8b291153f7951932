package dev.sandboxssh.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class CidrTest {
  @Test
  void matchesAddressesAndRanges() throws Exception {
    assertThat(Cidr.parse("192.0.2.0/24").contains(InetAddress.getByName("192.0.2.200"))).isTrue();
    assertThat(Cidr.parse("192.0.2.0/24").contains(InetAddress.getByName("192.0.3.1"))).isFalse();
    assertThat(Cidr.parse("192.0.2.7").contains(InetAddress.getByName("192.0.2.7"))).isTrue();
    assertThat(Cidr.parse("192.0.2.7").contains(InetAddress.getByName("192.0.2.8"))).isFalse();
    assertThat(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("203.0.113.9"))).isTrue();
    assertThat(Cidr.parse("2001:db8::/32").contains(InetAddress.getByName("2001:db8:ffff::1")))
        .isTrue();
    // An IPv4 address is never in an IPv6 range and the reverse.
    assertThat(Cidr.parse("::/0").contains(InetAddress.getByName("127.0.0.1"))).isFalse();
    assertThat(Cidr.parse("10.1.2.3/8").toString()).isEqualTo("10.0.0.0/8");
  }

  @Test
  void refusesHostNamesAndBadPrefixes() {
    for (String bad :
        new String[] {
          "example.com",
          "10.0.0.0/33",
          "::/129",
          "10.0.0.0/",
          "",
          "1.2.3",
          // The JDK takes these for host names (they do not start with a hex digit or ':').
          ".:",
          ".1:2",
          ".::1/64"
        }) {
      assertThat(Cidr.isValid(bad)).as(bad).isFalse();
      assertThatThrownBy(() -> Cidr.parse(bad)).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
