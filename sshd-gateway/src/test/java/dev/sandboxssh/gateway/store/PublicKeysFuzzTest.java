package dev.sandboxssh.gateway.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.testing.AllocationBudget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.junit.jupiter.api.Timeout;

/**
 * What {@code owner add --key FILE} reads (an authorized_keys-style file) and what a login decodes
 * (a stored key line), whatever the bytes: a list of plain public keys or a {@link StoreException}
 * INVALID, nothing else; every key accepted is stored in a form that decodes back to the same key;
 * an OpenSSH certificate is never stored as a key; no hang, no allocation out of proportion.
 *
 * <p>The first byte of an input picks what the rest is. Even: the bytes of a key file, read with
 * {@link PublicKeys#readFile}. Odd: the binary key blob of one authorized_keys line (the part that
 * is base64 in the file), so that the fuzzer works on the key and certificate encodings directly
 * rather than through base64; bit 1 adds options before the key, bit 2 a comment after it. Seeds
 * ({@code PublicKeysFuzzTestInputs/parse/}): ssh-keygen's ed25519, ECDSA, RSA and DSA keys, ed25519
 * and ECDSA certificates, FIDO (sk-) keys, in both forms.
 */
class PublicKeysFuzzTest {
  /**
   * Keys are at most a few KiB (an RSA key of 16384 bits); parsing one takes far less than this.
   */
  private static final AllocationBudget budget = AllocationBudget.thisThread(32 << 20);

  private static final Path file;

  static {
    try {
      file = Files.createTempFile("fuzz-keys", ".pub");
      file.toFile().deleteOnExit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom).
  @Timeout(value = 5, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void parse(byte[] input) throws Exception {
    if (input.length == 0) {
      return;
    }
    int mode = input[0] & 0xff;
    byte[] rest = Arrays.copyOfRange(input, 1, input.length);
    if ((mode & 1) == 0) {
      Files.write(file, rest);
      budget.run(
          "reading a " + rest.length + "-byte key file", () -> check(PublicKeysFuzzTest::readFile));
    } else {
      String line = line(rest, mode);
      budget.run(
          "parsing a " + rest.length + "-byte key blob",
          () -> check(() -> PublicKeys.parse(line, "fuzz")));
    }
  }

  private static List<PublicKeys.ParsedKey> readFile() {
    return PublicKeys.readFile(file);
  }

  /** {@code [options] TYPE BASE64 [comment]}, TYPE taken from the blob as OpenSSH writes it. */
  private static String line(byte[] blob, int mode) {
    StringBuilder line = new StringBuilder();
    if ((mode & 2) != 0) {
      line.append("no-pty,command=\"echo \\\"x y\\\"\",from=\"10.0.0.0/8\" ");
    }
    line.append(typeOf(blob)).append(' ').append(Base64.getEncoder().encodeToString(blob));
    if ((mode & 4) != 0) {
      line.append(" fuzz@host");
    }
    return line.toString();
  }

  /** The key type a blob names in its first string, when that is a plausible name. */
  private static String typeOf(byte[] blob) {
    if (blob.length >= 4) {
      int n = ByteBuffer.wrap(blob).getInt();
      if (n > 0 && n <= 64 && n <= blob.length - 4) {
        String type = new String(blob, 4, n, StandardCharsets.ISO_8859_1);
        if (type.matches("[A-Za-z0-9@._+-]+")) {
          return type;
        }
      }
    }
    return "ssh-ed25519";
  }

  private interface Parse {
    List<PublicKeys.ParsedKey> run();
  }

  private static void check(Parse parse) {
    List<PublicKeys.ParsedKey> keys;
    try {
      keys = parse.run();
    } catch (StoreException e) {
      assertThat(e.reason()).isEqualTo(StoreException.Reason.INVALID);
      return;
    }
    assertThat(keys).isNotEmpty();
    for (PublicKeys.ParsedKey k : keys) {
      assertThat(k.key()).isNotNull().isNotInstanceOf(OpenSshCertificate.class);
      String fingerprint = PublicKeys.fingerprint(k.key());
      assertThat(fingerprint).startsWith("SHA256:");
      assertThat(k.ownerKey().fingerprint()).isEqualTo(fingerprint);
      // What the store keeps is what logins are matched with later: it must decode to this key.
      assertThat(PublicKeys.fingerprint(PublicKeys.decode(k.ownerKey().authorizedKey())))
          .isEqualTo(fingerprint);
    }
  }
}
