package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UidClaimsTest {
  @TempDir Path dir;

  @Test
  void aUidOneGatewayClaimsIsRefusedToAnotherUntilItIsReleased() throws Exception {
    Path file = dir.resolve("claims/uid-claims");
    try (UidClaims one = UidClaims.open(file);
        UidClaims other = UidClaims.open(file)) {
      assertThat(one.claim(300_000)).isTrue();
      assertThat(one.claim(300_000)).as("claimed again by its holder").isTrue();
      assertThat(other.claim(300_000)).isFalse();
      assertThat(other.claim(300_001)).isTrue();
      assertThat(one.claim(300_001)).isFalse();
      // The top of the unsigned 32-bit uid space, past any signed offset.
      assertThat(one.claim(4_294_967_294L)).isTrue();
      assertThat(other.claim(4_294_967_294L)).isFalse();
      assertThat(one.held()).containsExactlyInAnyOrder(300_000L, 4_294_967_294L);

      one.release(300_000);
      assertThat(one.held()).containsExactly(4_294_967_294L);
      assertThat(other.claim(300_000)).isTrue();
      assertThat(one.claim(300_000)).isFalse();
    }
  }

  @Test
  void closingGivesUpEveryClaim() throws Exception {
    Path file = dir.resolve("uid-claims");
    try (UidClaims other = UidClaims.open(file)) {
      UidClaims one = UidClaims.open(file);
      for (long uid = 10; uid < 13; uid++) {
        assertThat(one.claim(uid)).isTrue();
      }
      one.close();
      assertThat(one.held()).isEmpty();
      for (long uid = 10; uid < 13; uid++) {
        assertThat(other.claim(uid)).as("uid %d", uid).isTrue();
      }
    }
  }

  @Test
  void aClaimOfAnotherProcessHoldsTillThatProcessEnds() throws Exception {
    Path file = dir.resolve("uid-claims");
    try (UidClaims claims = UidClaims.open(file)) {
      // A process that locks the byte of uid 42 with a POSIX record lock, which open file
      // description locks conflict with, and holds it until its stdin closes.
      Process holder =
          new ProcessBuilder(
                  "/usr/bin/python3",
                  "-c",
                  "import fcntl, sys\n"
                      + "f = open(sys.argv[1], 'r+')\n"
                      + "fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 42)\n"
                      + "print('held', flush=True)\n"
                      + "sys.stdin.read()",
                  file.toString())
              .redirectErrorStream(true)
              .start();
      try {
        String line =
            new String(holder.getInputStream().readNBytes("held".length()), StandardCharsets.UTF_8);
        assertThat(line).as("the helper's output").isEqualTo("held");
        assertThat(claims.claim(42)).isFalse();
        assertThat(claims.claim(43)).isTrue();
      } finally {
        holder.getOutputStream().close();
        holder.waitFor();
      }
      assertThat(claims.claim(42)).as("once the holder has ended").isTrue();
    }
  }
}
