package dev.sandboxssh.gateway.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConnectionEnvTest {
  @Test
  void ipv4GivesSshdsTwoVariables() {
    assertThat(
            ConnectionEnv.of(
                new InetSocketAddress("192.0.2.7", 51234), new InetSocketAddress("10.1.2.3", 22)))
        .containsExactly(
            Map.entry("SSH_CLIENT", "192.0.2.7 51234 22"),
            Map.entry("SSH_CONNECTION", "192.0.2.7 51234 10.1.2.3 22"));
  }

  @Test
  void ipv6IsPrintedAsGetnameinfoPrintsIt() throws UnknownHostException {
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("::1"))).isEqualTo("::1");
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("::"))).isEqualTo("::");
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("2001:db8:0:0:1:0:0:1")))
        .as("the first of two equal runs")
        .isEqualTo("2001:db8::1:0:0:1");
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("2001:db8:0:1:0:0:0:1")))
        .as("the longest run")
        .isEqualTo("2001:db8:0:1::1");
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("2001:db8:1:2:3:4:0:5")))
        .as("a single zero group stays")
        .isEqualTo("2001:db8:1:2:3:4:0:5");
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("fe80:0:0:0:0:0:0:0")))
        .isEqualTo("fe80::");
    byte[] linkLocal = InetAddress.getByName("fe80::1").getAddress();
    assertThat(ConnectionEnv.numeric(Inet6Address.getByAddress(null, linkLocal, 1)))
        .as("with its scope")
        .isEqualTo("fe80::1%1");
    assertThat(ConnectionEnv.numeric(InetAddress.getByName("::ffff:192.0.2.7")))
        .as("IPv4-mapped")
        .isEqualTo("192.0.2.7");
  }

  @Test
  void aConnectionWithoutIpAddressesGivesNone() {
    assertThat(
            ConnectionEnv.of(
                UnixDomainSocketAddress.of("/run/gw.sock"), new InetSocketAddress("10.1.2.3", 22)))
        .isEmpty();
    assertThat(ConnectionEnv.of(null, null)).isEmpty();
  }
}
