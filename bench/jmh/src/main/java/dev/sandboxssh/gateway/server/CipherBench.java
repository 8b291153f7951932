package dev.sandboxssh.gateway.server;

import dev.sandboxssh.bench.Megabytes;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.ChaCha20Cipher;
import org.apache.sshd.common.cipher.Cipher;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One SSH packet through MINA's {@link Cipher} interface, as MINA's packet codec drives it: {@code
 * updateAAD} over the 4-byte length, then {@code update} over the payload, in place, with the tag
 * written (or checked) after it.
 *
 * <p>Primary score: packets/s; the {@code :mb} row is payload MB/s. {@code encryptThenDecrypt}
 * passes each packet through a twin cipher that decrypts it, as the peer would (sequence numbers
 * advance in step); decrypt alone costs roughly its time per packet minus {@code encrypt}'s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
// The JIT takes several seconds to settle here; shorter warm-ups under-report the JDK ciphers.
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
// The gateway's cipher uses the JDK's Poly1305 intrinsic only when this package is open to it.
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens", "java.base/com.sun.crypto.provider=ALL-UNNAMED"})
@State(Scope.Thread)
public class CipherBench {
  /** chacha20-poly1305@openssh.com and aes128-gcm@openssh.com, each the gateway's and MINA's. */
  @Param({
    "gateway-chacha20-poly1305",
    "mina-chacha20-poly1305",
    "gateway-aes128-gcm",
    "mina-aes128-gcm"
  })
  public String cipher;

  /** Payload bytes per packet: 32 KiB, OpenSSH's usual packet when a transfer is bulk. */
  @Param({"32768", "1024"})
  public int payload;

  private Cipher encryptor;
  private Cipher decryptor;
  private byte[] packet;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    if (cipher.startsWith("gateway-")
        && !Object.class.getModule().isOpen("com.sun.crypto.provider", getClass().getModule())) {
      throw new IllegalStateException(
          "run with --add-opens java.base/com.sun.crypto.provider=ALL-UNNAMED, or this measures"
              + " the gateway cipher's plain-Java Poly1305 fallback");
    }
    encryptor = create();
    decryptor = create();
    Random random = new Random(42);
    byte[] key = new byte[encryptor.getKdfSize()];
    random.nextBytes(key);
    // For ChaCha20 the IV is the packet sequence number: start at 0, as after a strict key
    // exchange. For AES-GCM it is the derived 12-byte nonce.
    byte[] iv = new byte[encryptor.getIVSize()];
    if (!cipher.contains("chacha20")) {
      random.nextBytes(iv);
    }
    encryptor.init(Cipher.Mode.Encrypt, key, iv);
    decryptor.init(Cipher.Mode.Decrypt, key, iv);
    packet = new byte[4 + payload + encryptor.getAuthenticationTagSize()];
    random.nextBytes(packet);
    packet[0] = (byte) (payload >>> 24);
    packet[1] = (byte) (payload >>> 16);
    packet[2] = (byte) (payload >>> 8);
    packet[3] = (byte) payload;
  }

  private Cipher create() {
    return switch (cipher) {
      case "gateway-chacha20-poly1305" -> ChaCha20Poly1305Cipher.FACTORY.create();
      case "mina-chacha20-poly1305" -> new ChaCha20Cipher();
      case "gateway-aes128-gcm" -> AesGcmCipher.AES128.create();
      case "mina-aes128-gcm" -> BuiltinCiphers.aes128gcm.create();
      default -> throw new IllegalArgumentException("unknown cipher " + cipher);
    };
  }

  /** Encrypts the same buffer over and over: the cipher's cost does not depend on the bytes. */
  @Benchmark
  public byte[] encrypt(Megabytes moved) throws Exception {
    encryptor.updateAAD(packet, 0, 4);
    encryptor.update(packet, 4, payload);
    moved.add(payload);
    return packet;
  }

  /** Encrypts, then decrypts and checks the tag with the twin: the buffer is plaintext again. */
  @Benchmark
  public byte[] encryptThenDecrypt(Megabytes moved) throws Exception {
    encryptor.updateAAD(packet, 0, 4);
    encryptor.update(packet, 4, payload);
    decryptor.updateAAD(packet, 0, 4);
    decryptor.update(packet, 4, payload);
    moved.add(payload);
    return packet;
  }
}
