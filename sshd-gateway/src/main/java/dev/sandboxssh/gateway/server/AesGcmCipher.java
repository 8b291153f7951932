package dev.sandboxssh.gateway.server;

import org.apache.sshd.common.cipher.BaseGCMCipher;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.cipher.CipherFactory;

/**
 * MINA's {@code aes128-gcm@openssh.com} and {@code aes256-gcm@openssh.com}, but decrypting a packet
 * into a scratch array and copying it back rather than in place.
 *
 * <p>Why: decrypting in place, the JDK's GCM runs two passes (GHASH over the ciphertext, then
 * AES-CTR over it), because its combined AES-GCM intrinsic would overwrite the ciphertext before
 * hashing it. Into another array it runs the combined one; on this project's machines that decrypts
 * a 32 KiB packet 1.2-1.6x faster, the copy back included. Encryption already runs the combined
 * intrinsic.
 */
final class AesGcmCipher extends BaseGCMCipher {
  static final CipherFactory AES128 = new Factory(BuiltinCiphers.aes128gcm);
  static final CipherFactory AES256 = new Factory(BuiltinCiphers.aes256gcm);

  // The JDK's combined intrinsic takes whole 512-byte runs; a keystroke's packet gains nothing.
  private static final int SCRATCH_FROM = 512;

  // Packets are decrypted on the event loops; one scratch array per loop thread, so an idle
  // connection holds none.
  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

  private AesGcmCipher(CipherFactory like) {
    super(
        like.getIVSize(),
        like.getAuthenticationTagSize(),
        like.getKdfSize(),
        like.getAlgorithm(),
        like.getKeySize(),
        like.getTransformation(),
        like.getCipherBlockSize());
  }

  @Override
  protected javax.crypto.Cipher createCipherInstance(Mode mode, byte[] key, byte[] iv)
      throws Exception {
    javax.crypto.Cipher cipher = super.createCipherInstance(mode, key, iv);
    parameters = new Counter(getAuthenticationTagSize() * Byte.SIZE, iv);
    return cipher;
  }

  @Override
  public void update(byte[] input, int inputOffset, int inputLen) throws Exception {
    if (mode != Mode.Decrypt || inputLen < SCRATCH_FROM) {
      super.update(input, inputOffset, inputLen);
      return;
    }
    byte[] scratch = SCRATCH.get();
    if (scratch.length < inputLen) {
      scratch = new byte[inputLen];
      SCRATCH.set(scratch);
    }
    javax.crypto.Cipher cipher = getInitializedCipherInstance();
    // Throws on a bad tag before anything is copied back: MINA never sees unauthenticated bytes.
    int n = cipher.doFinal(input, inputOffset, inputLen + getAuthenticationTagSize(), scratch, 0);
    System.arraycopy(scratch, 0, input, inputOffset, n);
    ((Counter) parameters).next();
    initialized = false;
  }

  /** MINA's IV for AES-GCM: a fixed field, then a 64-bit counter stepped once per packet. */
  private static final class Counter extends CounterGCMParameterSpec {
    Counter(int tagBits, byte[] iv) {
      super(tagBits, iv);
    }

    void next() {
      incrementCounter();
    }
  }

  /** Names and sizes as MINA's own factory for the same cipher. */
  private record Factory(BuiltinCiphers like) implements CipherFactory {
    @Override
    public String getName() {
      return like.getName();
    }

    @Override
    public boolean isSupported() {
      return like.isSupported();
    }

    @Override
    public Cipher create() {
      return new AesGcmCipher(like);
    }

    @Override
    public String getAlgorithm() {
      return like.getAlgorithm();
    }

    @Override
    public String getTransformation() {
      return like.getTransformation();
    }

    @Override
    public int getIVSize() {
      return like.getIVSize();
    }

    @Override
    public int getAuthenticationTagSize() {
      return like.getAuthenticationTagSize();
    }

    @Override
    public int getCipherBlockSize() {
      return like.getCipherBlockSize();
    }

    @Override
    public int getKdfSize() {
      return like.getKdfSize();
    }

    @Override
    public int getKeySize() {
      return like.getKeySize();
    }

    @Override
    public String toString() {
      return like.getName();
    }
  }
}
