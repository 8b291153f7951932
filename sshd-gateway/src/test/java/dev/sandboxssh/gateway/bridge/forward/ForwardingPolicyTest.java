package dev.sandboxssh.gateway.bridge.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.config.GatewayConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardingPolicyTest {
  private static ForwardingPolicy permitting(String... targets) {
    return new ForwardingPolicy(
        new GatewayConfig.Forwarding(true, false, true, false, List.of(targets)));
  }

  @Test
  void defaultPermitsAnyTarget() {
    ForwardingPolicy policy = new ForwardingPolicy(GatewayConfig.defaults().forwarding());
    assertThat(policy.permitsOpen("127.0.0.1", 8080)).isTrue();
    assertThat(policy.permitsOpen("example.com", 443)).isTrue();
  }

  @Test
  void hostAndPortMustBothMatchOneEntry() {
    ForwardingPolicy policy = permitting("localhost:22", "*:443", "[::1]:8080");
    assertThat(policy.permitsOpen("localhost", 22)).isTrue();
    assertThat(policy.permitsOpen("LOCALHOST", 22)).isTrue();
    assertThat(policy.permitsOpen("localhost", 23)).isFalse();
    assertThat(policy.permitsOpen("anything.example", 443)).isTrue();
    assertThat(policy.permitsOpen("::1", 8080)).isTrue();
    assertThat(policy.permitsOpen("127.0.0.1", 8080)).as("names are not resolved").isFalse();
  }

  @Test
  void emptyListPermitsNothing() {
    assertThat(permitting().permitsOpen("127.0.0.1", 80)).isFalse();
  }

  @Test
  void kindsFollowTheConfig() {
    ForwardingPolicy policy = permitting("*:*");
    assertThat(policy.allowsLocal()).isTrue();
    assertThat(policy.allowsRemote()).isFalse();
    assertThat(policy.allowsStreamLocal()).isTrue();
    assertThat(policy.allowsAgent()).isFalse();
  }
}
