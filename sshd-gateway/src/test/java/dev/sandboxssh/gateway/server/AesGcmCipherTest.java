package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.cipher.Cipher.Mode;
import org.apache.sshd.common.cipher.CipherFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The gateway's AES-GCM against MINA's, packet for packet, in both directions. */
class AesGcmCipherTest {
  // Either side of the 512 bytes from which decryption goes through the scratch array.
  private static final int[] SIZES = {16, 496, 512, 528, 1024, 32_768, 35_000, 16, 65_536};

  enum Pair {
    AES128(AesGcmCipher.AES128, BuiltinCiphers.aes128gcm),
    AES256(AesGcmCipher.AES256, BuiltinCiphers.aes256gcm);

    final CipherFactory ours;
    final CipherFactory mina;

    Pair(CipherFactory ours, CipherFactory mina) {
      this.ours = ours;
      this.mina = mina;
    }
  }

  @ParameterizedTest
  @EnumSource(Pair.class)
  void decryptsWhatMinaEncryptsAndEncryptsWhatMinaDecrypts(Pair pair) throws Exception {
    assertThat(pair.ours.getName()).isEqualTo(pair.mina.getName());
    byte[] key = bytes(pair.ours.getKdfSize(), 1);
    byte[] iv = bytes(pair.ours.getIVSize(), 9);

    Cipher sender = pair.mina.create();
    Cipher receiver = pair.ours.create();
    sender.init(Mode.Encrypt, key, iv.clone());
    receiver.init(Mode.Decrypt, key, iv.clone());
    roundTrip(sender, receiver);

    sender = pair.ours.create();
    receiver = pair.mina.create();
    sender.init(Mode.Encrypt, key, iv.clone());
    receiver.init(Mode.Decrypt, key, iv.clone());
    roundTrip(sender, receiver);
  }

  @ParameterizedTest
  @EnumSource(Pair.class)
  void refusesATamperedPacketAndHandsBackNoPlaintext(Pair pair) throws Exception {
    byte[] key = bytes(pair.ours.getKdfSize(), 3);
    byte[] iv = bytes(pair.ours.getIVSize(), 4);
    Cipher sender = pair.mina.create();
    Cipher receiver = pair.ours.create();
    sender.init(Mode.Encrypt, key, iv.clone());
    receiver.init(Mode.Decrypt, key, iv.clone());
    int size = 4096;
    byte[] packet = packet(size, 5);
    sender.updateAAD(packet, 0, 4);
    sender.update(packet, 4, size);
    packet[4 + 100] ^= 1;
    byte[] tampered = packet.clone();

    receiver.updateAAD(packet, 0, 4);
    assertThatThrownBy(() -> receiver.update(packet, 4, size))
        .isInstanceOf(AEADBadTagException.class);
    // The ciphertext is left as it came: nothing was decrypted into the packet.
    assertThat(packet).isEqualTo(tampered);
  }

  private static void roundTrip(Cipher sender, Cipher receiver) throws Exception {
    for (int size : SIZES) {
      byte[] plain = packet(size, size);
      byte[] packet = plain.clone();
      sender.updateAAD(packet, 0, 4);
      sender.update(packet, 4, size);
      assertThat(packet).as("encrypted, %d bytes", size).isNotEqualTo(plain);
      receiver.updateAAD(packet, 0, 4);
      receiver.update(packet, 4, size);
      assertThat(Arrays.copyOf(packet, 4 + size))
          .as("decrypted, %d bytes", size)
          .isEqualTo(Arrays.copyOf(plain, 4 + size));
    }
  }

  // A 4-byte length, then size bytes of payload, then room for the 16-byte tag.
  private static byte[] packet(int size, int seed) {
    byte[] p = new byte[4 + size + 16];
    p[0] = (byte) (size >>> 24);
    p[1] = (byte) (size >>> 16);
    p[2] = (byte) (size >>> 8);
    p[3] = (byte) size;
    for (int i = 4; i < 4 + size; i++) {
      p[i] = (byte) (i * 31 + seed);
    }
    return p;
  }

  private static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i + seed);
    }
    return b;
  }
}
