package dev.sandboxssh.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.testing.AllocationBudget;
import java.io.IOException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.util.buffer.BufferException;
import org.junit.jupiter.api.Timeout;

/**
 * The revoked-keys file ({@code auth.revoked-keys}) when it is a KRL, whatever its bytes: {@link
 * Krl#parse} returns a list or throws its {@link IOException} with a message, caused by nothing or
 * by MINA's {@link BufferException} for a field cut short (an IndexOutOfBounds, a negative size or
 * an overflow wrapped as "malformed" would be a defect hidden behind that message); a list parsed
 * answers {@link Krl#isRevoked} for plain keys and certificates without failing, and a certificate
 * of a revoked key is revoked; no hang, no allocation out of proportion. The file is the
 * operator's, but it is the gate of every login: a parser failure there refuses everyone.
 *
 * <p>An input is the file. Seeds ({@code KrlFuzzTestInputs/parse/}): {@code ssh-keygen -k}'s KRLs
 * (empty; by key, which OpenSSH 9.2 writes as SHA-256 hashes; SHA-1 and SHA-256 hashes; serials as
 * ranges and bitmaps; key ids; a certificate's CA and serial; several of these), truncations of
 * them, and crafted ones for what ssh-keygen does not write (a serial list, a wildcard CA, a
 * signature section, a bitmap near the top of the serial space, another format version).
 */
class KrlFuzzTest {
  /** A KRL of a few KiB parses in far less than this. */
  private static final AllocationBudget budget = AllocationBudget.thisThread(32 << 20);

  private static final List<PublicKey> KEYS = new ArrayList<>();

  static {
    CertificateFixtures.KEYS.forEach(k -> KEYS.add(CertificateFixtures.key(k)));
    CertificateFixtures.CERTIFICATES.forEach(k -> KEYS.add(CertificateFixtures.key(k)));
  }

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom).
  @Timeout(value = 5, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void parse(byte[] input) throws Exception {
    budget.run("parsing a " + input.length + "-byte KRL", () -> check(input));
  }

  private static void check(byte[] input) {
    Krl krl;
    try {
      krl = Krl.parse(input);
    } catch (IOException e) {
      assertThat(e.getMessage()).isNotBlank();
      if (e.getCause() != null) {
        assertThat(e.getCause()).isInstanceOf(BufferException.class);
      }
      return;
    }
    assertThat(Krl.isKrl(input)).isTrue();
    for (PublicKey key : KEYS) {
      boolean revoked = krl.isRevoked(key);
      if (key instanceof OpenSshCertificate cert && krl.isRevoked(cert.getCertPubKey())) {
        assertThat(revoked).as("a certificate of a revoked key").isTrue();
      }
    }
  }
}
