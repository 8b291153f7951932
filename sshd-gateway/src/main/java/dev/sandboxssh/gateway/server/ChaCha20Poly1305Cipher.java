package dev.sandboxssh.gateway.server;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.security.Key;
import java.security.spec.AlgorithmParameterSpec;
import javax.crypto.AEADBadTagException;
import javax.crypto.spec.ChaCha20ParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.cipher.CipherFactory;
import org.apache.sshd.common.mac.Poly1305Mac;

/**
 * {@code chacha20-poly1305@openssh.com} (OpenSSH's PROTOCOL.chacha20poly1305) on the JDK's ChaCha20
 * cipher and, where the JVM has one, its Poly1305 intrinsic.
 *
 * <p>Why not MINA's own: it computes ChaCha20 one 64-byte block at a time in plain Java (about 0.3
 * GB/s), and stock OpenSSH clients choose this cipher first, so it capped every transfer. The JDK's
 * {@code ChaCha20} (RFC 7539: a 32-bit block counter and a 96-bit nonce) yields the same key stream
 * as OpenSSH's original ChaCha20 (64-bit counter, 64-bit nonce) when the nonce is four zero bytes
 * followed by the packet's big-endian sequence number: the counter never passes 2^32 blocks within
 * one packet. OpenSSH's Poly1305 input (the encrypted length, then the ciphertext, unpadded) is not
 * that of the JDK's AEAD, so the MAC is computed here.
 */
final class ChaCha20Poly1305Cipher implements Cipher, ChaCha20Poly1305Information {
  static final String NAME = "chacha20-poly1305@openssh.com";

  /** The factory that replaces MINA's {@code cc20p1305_openssh}. */
  static final CipherFactory FACTORY = new Factory();

  private static final byte[] ZERO_BLOCK = new byte[64];

  private final javax.crypto.Cipher body;
  private final javax.crypto.Cipher header;
  private final Poly1305 mac = Poly1305.create();
  // Key stream block 0 of each packet; its first 32 bytes are the packet's Poly1305 key.
  private final byte[] block0 = new byte[64];
  private final byte[] tag = new byte[TAG_BYTES];
  // RFC 7539 nonce: 4 zero bytes (the high half of OpenSSH's 64-bit counter), then the sequence
  // number, big-endian, as OpenSSH lays it out.
  private final byte[] nonce = new byte[12];
  private SecretKeySpec bodyKey;
  private SecretKeySpec headerKey;
  private Mode mode;
  private long sequence;
  private long firstSequence;

  ChaCha20Poly1305Cipher() {
    try {
      body = javax.crypto.Cipher.getInstance("ChaCha20");
      header = javax.crypto.Cipher.getInstance("ChaCha20");
    } catch (Exception e) {
      throw new IllegalStateException("this JVM has no ChaCha20 cipher", e);
    }
  }

  @Override
  public void init(Mode mode, byte[] key, byte[] iv) throws Exception {
    this.mode = mode;
    bodyKey = new SecretKeySpec(key, 0, 32, ALGORITHM);
    headerKey = new SecretKeySpec(key, 32, 32, ALGORITHM);
    sequence = 0;
    for (int i = 0; i < 8; i++) {
      sequence = (sequence << 8) | (iv[i] & 0xff);
    }
    firstSequence = sequence;
    startPacket();
  }

  // Both directions use DECRYPT_MODE: for plain ChaCha20 it is the same XOR with the key stream,
  // and the JDK refuses an ENCRYPT_MODE init that repeats the last key and nonce, which this
  // construction does on purpose (block 0 for the MAC key, then the payload from block 1).
  private void startPacket() throws Exception {
    for (int i = 0; i < 8; i++) {
      nonce[4 + i] = (byte) (sequence >>> (56 - 8 * i));
    }
    body.init(javax.crypto.Cipher.DECRYPT_MODE, bodyKey, new ChaCha20ParameterSpec(nonce, 0));
    body.update(ZERO_BLOCK, 0, 64, block0, 0);
    mac.init(block0);
  }

  @Override
  public void updateAAD(byte[] data, int offset, int length) throws Exception {
    if (length != 4) {
      throw new IllegalArgumentException("only the 4-byte packet length is additional data");
    }
    header.init(javax.crypto.Cipher.DECRYPT_MODE, headerKey, new ChaCha20ParameterSpec(nonce, 0));
    if (mode == Mode.Decrypt) {
      mac.update(data, offset, length);
    }
    header.update(data, offset, length, data, offset);
    if (mode == Mode.Encrypt) {
      mac.update(data, offset, length);
    }
  }

  /** Encrypts and appends the tag, or checks the tag that follows and decrypts, in place. */
  @Override
  public void update(byte[] input, int offset, int length) throws Exception {
    if (mode == Mode.Decrypt) {
      mac.update(input, offset, length);
      mac.doFinal(tag);
      int diff = 0;
      for (int i = 0; i < TAG_BYTES; i++) {
        diff |= tag[i] ^ input[offset + length + i];
      }
      if (diff != 0) {
        throw new AEADBadTagException("Tag mismatch");
      }
      body.update(input, offset, length, input, offset);
    } else {
      body.update(input, offset, length, input, offset);
      mac.update(input, offset, length);
      mac.doFinal(tag);
      System.arraycopy(tag, 0, input, offset + length, TAG_BYTES);
    }
    // SSH sequence numbers are 32 bits and wrap (RFC 4253 section 6.4); OpenSSH's nonce is that
    // number widened to 64 bits.
    sequence = (sequence + 1) & 0xffff_ffffL;
    if (sequence == firstSequence) {
      throw new IllegalStateException("packet sequence number reused with the same key");
    }
    startPacket();
  }

  /** Which Poly1305 this JVM gives the cipher, for the start-up log. */
  static String poly1305Implementation() {
    return Poly1305.create().description();
  }

  private static final class Factory implements CipherFactory, ChaCha20Poly1305Information {
    @Override
    public String getName() {
      return NAME;
    }

    @Override
    public boolean isSupported() {
      return true;
    }

    @Override
    public Cipher create() {
      return new ChaCha20Poly1305Cipher();
    }

    @Override
    public String toString() {
      return NAME;
    }
  }

  /** One-time authenticator over a packet; its key comes from the first 32 bytes given. */
  private interface Poly1305 {
    void init(byte[] key) throws Exception;

    void update(byte[] data, int offset, int length) throws Exception;

    void doFinal(byte[] out) throws Exception;

    String description();

    static Poly1305 create() {
      return JdkPoly1305.AVAILABLE ? new JdkPoly1305() : new MinaPoly1305();
    }
  }

  /**
   * The JDK's Poly1305, which HotSpot replaces by AVX2/AVX-512 or NEON code on JDK 21 and later
   * (about 5 GB/s here, against 1 GB/s in plain Java). The class is internal to java.base, so it
   * needs {@code --add-opens java.base/com.sun.crypto.provider=ALL-UNNAMED} (in the jar's manifest
   * and the test JVMs' arguments); without it, or on an older JDK where this class is plain Java
   * and slower than MINA's, the cipher falls back to MINA's Poly1305.
   */
  private static final class JdkPoly1305 implements Poly1305 {
    private static final MethodHandle NEW;
    private static final MethodHandle INIT;
    private static final MethodHandle UPDATE;
    private static final MethodHandle DO_FINAL;
    static final boolean AVAILABLE;

    static {
      MethodHandle newMac = null;
      MethodHandle init = null;
      MethodHandle update = null;
      MethodHandle doFinal = null;
      boolean available = false;
      if (Runtime.version().feature() >= 21) {
        try {
          Class<?> type = Class.forName("com.sun.crypto.provider.Poly1305");
          MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(type, MethodHandles.lookup());
          newMac = lookup.findConstructor(type, MethodType.methodType(void.class));
          init =
              lookup.findVirtual(
                  type,
                  "engineInit",
                  MethodType.methodType(void.class, Key.class, AlgorithmParameterSpec.class));
          update =
              lookup.findVirtual(
                  type,
                  "engineUpdate",
                  MethodType.methodType(void.class, byte[].class, int.class, int.class));
          doFinal = lookup.findVirtual(type, "engineDoFinal", MethodType.methodType(byte[].class));
          available = true;
        } catch (ReflectiveOperationException | RuntimeException e) {
          available = false; // not opened to us: MINA's Poly1305 instead
        }
      }
      NEW = newMac;
      INIT = init;
      UPDATE = update;
      DO_FINAL = doFinal;
      AVAILABLE = available;
    }

    private final Object poly1305;

    JdkPoly1305() {
      try {
        poly1305 = NEW.invoke();
      } catch (Throwable t) {
        throw new IllegalStateException("cannot create the JDK's Poly1305", t);
      }
    }

    @Override
    public void init(byte[] key) throws Exception {
      invoke(INIT, new SecretKeySpec(key, 0, 32, "Poly1305"), null);
    }

    @Override
    public void update(byte[] data, int offset, int length) throws Exception {
      try {
        UPDATE.invoke(poly1305, data, offset, length);
      } catch (Exception | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalStateException(t);
      }
    }

    @Override
    public void doFinal(byte[] out) throws Exception {
      byte[] tag;
      try {
        tag = (byte[]) DO_FINAL.invoke(poly1305);
      } catch (Exception | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalStateException(t);
      }
      System.arraycopy(tag, 0, out, 0, TAG_BYTES);
    }

    private void invoke(MethodHandle handle, Key key, AlgorithmParameterSpec spec)
        throws Exception {
      try {
        handle.invoke(poly1305, key, spec);
      } catch (Exception | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalStateException(t);
      }
    }

    @Override
    public String description() {
      return "the JDK's Poly1305 (intrinsic on JDK " + Runtime.version().feature() + ")";
    }
  }

  private static final class MinaPoly1305 implements Poly1305 {
    private final Poly1305Mac mac = new Poly1305Mac();
    private final byte[] key = new byte[Poly1305Mac.KEY_BYTES];

    @Override
    public void init(byte[] keyStream) throws Exception {
      System.arraycopy(keyStream, 0, key, 0, key.length);
      mac.init(key);
    }

    @Override
    public void update(byte[] data, int offset, int length) {
      mac.update(data, offset, length);
    }

    @Override
    public void doFinal(byte[] out) throws Exception {
      mac.doFinal(out, 0);
    }

    @Override
    public String description() {
      return "MINA's Poly1305 in plain Java"
          + (Runtime.version().feature() >= 21
              ? " (java.base/com.sun.crypto.provider is not opened to the gateway)"
              : " (JDK " + Runtime.version().feature() + " has no Poly1305 intrinsic)");
    }
  }
}
