package dev.sandboxssh.gateway.auth;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * An OpenSSH key revocation list ({@code ssh-keygen -k}), in the format of OpenSSH's PROTOCOL.krl:
 * revoked certificates by CA and serial (lists, ranges, bitmaps) or key id, and revoked keys by
 * blob, SHA-1 or SHA-256 hash. Its signature section, if any, is not checked: like sshd's
 * RevokedKeys, the file is trusted as the operator's own.
 */
final class Krl {
  /** {@code "SSHKRL\n\0"}, the first eight bytes of every KRL. */
  static final byte[] MAGIC = "SSHKRL\n\0".getBytes(StandardCharsets.ISO_8859_1);

  private static final int FORMAT_VERSION = 1;
  private static final int SECTION_CERTIFICATES = 1;
  private static final int SECTION_EXPLICIT_KEY = 2;
  private static final int SECTION_FINGERPRINT_SHA1 = 3;
  private static final int SECTION_SIGNATURE = 4;
  private static final int SECTION_FINGERPRINT_SHA256 = 5;
  private static final int CERT_SERIAL_LIST = 0x20;
  private static final int CERT_SERIAL_RANGE = 0x21;
  private static final int CERT_SERIAL_BITMAP = 0x22;
  private static final int CERT_KEY_ID = 0x23;

  /** Revoked certificates of one CA (or of any CA, for an empty CA key). */
  private static final class CaRevocations {
    final List<long[]> serialRanges = new ArrayList<>();
    final List<BitmapRange> bitmaps = new ArrayList<>();
    final Set<String> keyIds = new HashSet<>();
  }

  private record BitmapRange(long offset, BigInteger bits) {
    boolean contains(long serial) {
      long bit = serial - offset;
      return Long.compareUnsigned(serial, offset) >= 0
          && Long.compareUnsigned(bit, Integer.MAX_VALUE) < 0
          && bits.testBit((int) bit);
    }
  }

  /** Keyed by the CA's key blob (base64 would do as well); "" for certificates of any CA. */
  private final Map<ByteBuffer, CaRevocations> certificates = new HashMap<>();

  private final Set<ByteBuffer> blobs = new HashSet<>();
  private final Set<ByteBuffer> sha1 = new HashSet<>();
  private final Set<ByteBuffer> sha256 = new HashSet<>();

  private Krl() {}

  /** Whether {@code bytes} start like a KRL. */
  static boolean isKrl(byte[] bytes) {
    if (bytes.length < MAGIC.length) {
      return false;
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (bytes[i] != MAGIC[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Parses a KRL.
   *
   * @throws IOException naming what is wrong with it: not a KRL, an unknown version or section, or
   *     a field cut short (then caused by MINA's {@code BufferException})
   */
  static Krl parse(byte[] bytes) throws IOException {
    if (!isKrl(bytes)) {
      throw new IOException("not a KRL: it does not start with SSHKRL");
    }
    Krl krl = new Krl();
    ByteArrayBuffer in = new ByteArrayBuffer(bytes);
    in.rpos(MAGIC.length);
    String where = "header";
    try {
      long version = in.getUInt();
      if (version != FORMAT_VERSION) {
        throw new IOException("unsupported KRL format version " + version);
      }
      in.getLong(); // krl_version
      in.getLong(); // generated_date
      in.getLong(); // flags
      in.getBytes(); // reserved
      in.getBytes(); // comment
      boolean signed = false;
      while (in.available() > 0) {
        where = "section at byte " + in.rpos();
        int type = in.getUByte();
        ByteArrayBuffer section = new ByteArrayBuffer(in.getBytes());
        // As OpenSSH: signatures come last, so that nothing is added after what they cover.
        if (signed && type != SECTION_SIGNATURE) {
          throw new IOException("KRL section type " + type + " after the signature");
        }
        switch (type) {
          case SECTION_CERTIFICATES -> krl.readCertificates(section);
          case SECTION_EXPLICIT_KEY -> readBlobs(section, krl.blobs);
          case SECTION_FINGERPRINT_SHA1 -> readBlobs(section, krl.sha1);
          case SECTION_FINGERPRINT_SHA256 -> readBlobs(section, krl.sha256);
          case SECTION_SIGNATURE -> signed = true; // not checked; see the class comment
          default -> throw new IOException("unknown KRL section type " + type);
        }
      }
    } catch (RuntimeException e) {
      // MINA's reads throw BufferException for a length past the end (or negative).
      throw new IOException("malformed KRL: " + where + ": " + e.getMessage(), e);
    }
    return krl;
  }

  private void readCertificates(ByteArrayBuffer section) throws IOException {
    ByteBuffer ca = ByteBuffer.wrap(section.getBytes());
    section.getBytes(); // reserved
    CaRevocations r = certificates.computeIfAbsent(ca, k -> new CaRevocations());
    while (section.available() > 0) {
      int type = section.getUByte();
      ByteArrayBuffer sub = new ByteArrayBuffer(section.getBytes());
      switch (type) {
        case CERT_SERIAL_LIST -> {
          while (sub.available() > 0) {
            long serial = sub.getLong();
            r.serialRanges.add(new long[] {serial, serial});
          }
        }
        case CERT_SERIAL_RANGE -> r.serialRanges.add(new long[] {sub.getLong(), sub.getLong()});
        case CERT_SERIAL_BITMAP -> {
          long offset = sub.getLong();
          // An mpint, most significant bit first: bit i revokes serial offset + i.
          r.bitmaps.add(new BitmapRange(offset, new BigInteger(1, sub.getBytes())));
        }
        case CERT_KEY_ID -> {
          while (sub.available() > 0) {
            r.keyIds.add(sub.getString());
          }
        }
        default -> throw new IOException("unknown KRL certificate section type " + type);
      }
    }
  }

  private static void readBlobs(ByteArrayBuffer section, Set<ByteBuffer> into) {
    while (section.available() > 0) {
      into.add(ByteBuffer.wrap(section.getBytes()));
    }
  }

  /** Whether {@code key} (a plain key, or a certificate of a revoked serial or id) is revoked. */
  boolean isRevoked(PublicKey key) {
    if (key instanceof OpenSshCertificate cert) {
      for (ByteBuffer ca :
          List.of(ByteBuffer.wrap(blob(cert.getCaPubKey())), ByteBuffer.allocate(0))) {
        CaRevocations r = certificates.get(ca);
        if (r != null && revokes(r, cert)) {
          return true;
        }
      }
      return isRevoked(cert.getCertPubKey());
    }
    byte[] blob = blob(key);
    return blobs.contains(ByteBuffer.wrap(blob))
        || sha1.contains(ByteBuffer.wrap(digest("SHA-1", blob)))
        || sha256.contains(ByteBuffer.wrap(digest("SHA-256", blob)));
  }

  private static boolean revokes(CaRevocations r, OpenSshCertificate cert) {
    long serial = cert.getSerial();
    for (long[] range : r.serialRanges) {
      if (Long.compareUnsigned(serial, range[0]) >= 0
          && Long.compareUnsigned(serial, range[1]) <= 0) {
        return true;
      }
    }
    for (BitmapRange b : r.bitmaps) {
      if (b.contains(serial)) {
        return true;
      }
    }
    return cert.getId() != null && r.keyIds.contains(cert.getId());
  }

  /** The SSH wire form of a plain key, as KRLs and fingerprints hash it. */
  static byte[] blob(PublicKey key) {
    ByteArrayBuffer b = new ByteArrayBuffer();
    b.putRawPublicKey(key);
    return b.getCompactData();
  }

  private static byte[] digest(String algorithm, byte[] data) {
    try {
      return MessageDigest.getInstance(algorithm).digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
