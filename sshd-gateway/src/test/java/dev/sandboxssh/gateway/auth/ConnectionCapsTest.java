package dev.sandboxssh.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConnectionCapsTest {
  @Test
  void capsEachSandboxAndEachOwnerAndGivesSlotsBack() {
    ConnectionCaps caps = new ConnectionCaps(3, 2);
    assertThat(caps.acquire("alice", "web")).isNull();
    assertThat(caps.acquire("alice", "web")).isNull();
    assertThat(caps.acquire("alice", "web"))
        .isEqualTo("too many connections to sandbox web (limit 2)");
    assertThat(caps.acquire("alice", "db")).isNull();
    // Her own login counts for her alone.
    assertThat(caps.acquire("alice", null))
        .isEqualTo("too many connections for owner alice (limit 3)");
    assertThat(caps.acquire("bob", "api")).isNull();

    caps.release("alice", "web");
    assertThat(caps.acquire("alice", null)).isNull();
    assertThat(caps.acquire("alice", "web"))
        .isEqualTo("too many connections for owner alice (limit 3)");
  }

  @Test
  void zeroMeansUnlimited() {
    ConnectionCaps caps = new ConnectionCaps(0, 0);
    for (int i = 0; i < 1000; i++) {
      assertThat(caps.acquire("alice", "web")).isNull();
    }
  }
}
