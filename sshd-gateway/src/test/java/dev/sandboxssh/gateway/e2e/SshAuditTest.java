package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's ssh-audit (2.5) against the gateway: no failure, and exactly the warnings judged
 * acceptable, so that a new one fails here and gets judged too.
 */
@Tag("e2e")
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SshAuditTest {
  /**
   * The judged warnings. ssh-audit 2.5 predates ML-KEM, the standard sntrup761 name and strict kex
   * (Terrapin's fix), so it calls them unknown; sntrup761 is what OpenSSH 9.0-9.8 clients choose,
   * and ML-KEM (OpenSSH 9.9's default) comes first. The encrypt-and-MAC SHA-2 MACs are what libssh2
   * 1.10 (curl, libgit2, PHP) can use beside AES-CTR; OpenSSH's sshd offers them too, after the ETM
   * ones.
   */
  private static final List<String> JUDGED_WARNINGS =
      List.of(
          "(kex) mlkem768x25519-sha256 -- [warn] unknown algorithm",
          "(kex) sntrup761x25519-sha512 -- [warn] unknown algorithm",
          "(kex) sntrup761x25519-sha512@openssh.com -- [warn] using experimental algorithm",
          "(kex) kex-strict-s-v00@openssh.com -- [warn] unknown algorithm",
          "(mac) hmac-sha2-256 -- [warn] using encrypt-and-MAC mode",
          "(mac) hmac-sha2-512 -- [warn] using encrypt-and-MAC mode");

  @TempDir Path dir;

  @Test
  void noFailureAndOnlyJudgedWarnings() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(dir)) {
      OpenSsh.Result audit =
          OpenSsh.run(
              List.of(
                  OpenSsh.binary("ssh-audit"),
                  "-n",
                  "-p",
                  Integer.toString(gateway.port()),
                  "127.0.0.1"),
              new byte[0],
              Timeouts.COMMAND);
      String report = audit.stdout();
      assertThat(report).as(audit.stderr()).contains("(gen) banner: SSH-2.0-sandbox-ssh");
      assertThat(report.lines().filter(l -> l.contains("[fail]"))).as(report).isEmpty();
      assertThat(
              report
                  .lines()
                  .filter(l -> l.contains("[warn]"))
                  .map(l -> l.replaceAll("\\s+", " ").strip()))
          .as(report)
          .containsExactlyInAnyOrderElementsOf(JUDGED_WARNINGS);
      // 2 is ssh-audit's status for "warnings only"; 3 would be failures.
      assertThat(audit.exitCode()).isEqualTo(2);
    }
  }
}
