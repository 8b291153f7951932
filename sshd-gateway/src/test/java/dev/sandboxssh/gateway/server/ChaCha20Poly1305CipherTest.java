package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import javax.crypto.AEADBadTagException;
import org.apache.sshd.common.cipher.ChaCha20Cipher;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.cipher.Cipher.Mode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The gateway's chacha20-poly1305 against MINA's, packet for packet, in both directions. */
class ChaCha20Poly1305CipherTest {
  private static final int[] SIZES = {0, 8, 12, 15, 16, 17, 63, 64, 65, 1000, 32_768, 65_536};

  @ParameterizedTest
  @ValueSource(longs = {0, 3, 0xffff_fffeL, 0xffff_ffffL})
  void encryptsWhatMinaDecryptsAndDecryptsWhatMinaEncrypts(long firstSequence) throws Exception {
    byte[] key = bytes(64, 1);
    byte[] iv = sequenceIv(firstSequence);
    Cipher ours = new ChaCha20Poly1305Cipher();
    Cipher mina = new ChaCha20Cipher();
    ours.init(Mode.Encrypt, key, iv.clone());
    mina.init(Mode.Decrypt, key, iv.clone());
    roundTrip(ours, mina);

    ours = new ChaCha20Poly1305Cipher();
    mina = new ChaCha20Cipher();
    mina.init(Mode.Encrypt, key, iv.clone());
    ours.init(Mode.Decrypt, key, iv.clone());
    roundTrip(mina, ours);
  }

  @Test
  void samePacketsAsMinaByteForByte() throws Exception {
    byte[] key = bytes(64, 7);
    Cipher ours = new ChaCha20Poly1305Cipher();
    Cipher mina = new ChaCha20Cipher();
    ours.init(Mode.Encrypt, key, sequenceIv(42));
    mina.init(Mode.Encrypt, key, sequenceIv(42));
    for (int size : SIZES) {
      byte[] a = packet(size, size);
      byte[] b = a.clone();
      ours.updateAAD(a, 0, 4);
      ours.update(a, 4, size);
      mina.updateAAD(b, 0, 4);
      mina.update(b, 4, size);
      assertThat(a).as("packet of %d bytes", size).isEqualTo(b);
    }
  }

  @Test
  void refusesATamperedPacketByItsTag() throws Exception {
    byte[] key = bytes(64, 3);
    Cipher sender = new ChaCha20Poly1305Cipher();
    Cipher receiver = new ChaCha20Poly1305Cipher();
    sender.init(Mode.Encrypt, key, sequenceIv(9));
    receiver.init(Mode.Decrypt, key, sequenceIv(9));
    byte[] p = packet(100, 5);
    sender.updateAAD(p, 0, 4);
    sender.update(p, 4, 100);
    p[50] ^= 1;
    receiver.updateAAD(p, 0, 4);
    assertThatThrownBy(() -> receiver.update(p, 4, 100)).isInstanceOf(AEADBadTagException.class);
  }

  @Test
  void usesTheJdksPoly1305WhereTheJvmHasItsIntrinsic() {
    // The test JVMs get the same --add-opens as the gateway jar's manifest; if either loses it,
    // chacha20-poly1305 quietly falls back to plain Java at a fifth of the speed.
    String implementation = ChaCha20Poly1305Cipher.poly1305Implementation();
    if (Runtime.version().feature() >= 21) {
      assertThat(implementation).startsWith("the JDK's Poly1305");
    } else {
      assertThat(implementation).startsWith("MINA's Poly1305");
    }
  }

  private static void roundTrip(Cipher encrypt, Cipher decrypt) throws Exception {
    for (int round = 0; round < 3; round++) {
      for (int size : SIZES) {
        byte[] plain = packet(size, size + round);
        byte[] wire = plain.clone();
        encrypt.updateAAD(wire, 0, 4);
        encrypt.update(wire, 4, size);
        if (size > 16) {
          assertThat(Arrays.copyOfRange(wire, 4, 4 + size))
              .isNotEqualTo(Arrays.copyOfRange(plain, 4, 4 + size));
        }
        decrypt.updateAAD(wire, 0, 4);
        decrypt.update(wire, 4, size);
        assertThat(Arrays.copyOf(wire, 4 + size)).isEqualTo(Arrays.copyOf(plain, 4 + size));
      }
    }
  }

  /** A packet buffer: 4-byte length, {@code size} payload bytes, room for the 16-byte tag. */
  private static byte[] packet(int size, long seed) {
    byte[] p = new byte[4 + size + 16];
    p[0] = (byte) (size >>> 24);
    p[1] = (byte) (size >>> 16);
    p[2] = (byte) (size >>> 8);
    p[3] = (byte) size;
    byte[] payload = bytes(size, seed);
    System.arraycopy(payload, 0, p, 4, size);
    return p;
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  private static byte[] sequenceIv(long sequence) {
    byte[] iv = new byte[8];
    for (int i = 0; i < 8; i++) {
      iv[i] = (byte) (sequence >>> (56 - 8 * i));
    }
    return iv;
  }
}
