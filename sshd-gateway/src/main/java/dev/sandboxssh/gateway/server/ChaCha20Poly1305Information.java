package dev.sandboxssh.gateway.server;

import org.apache.sshd.common.cipher.CipherInformation;

/**
 * What {@code chacha20-poly1305@openssh.com} is to MINA's key exchange and packet codec, shared by
 * the cipher and its factory.
 */
interface ChaCha20Poly1305Information extends CipherInformation {
  /**
   * MINA recognises this cipher by an algorithm name starting "ChaCha" and then passes the packet
   * sequence number as its IV.
   */
  String ALGORITHM = "ChaCha20";

  int TAG_BYTES = 16;

  @Override
  default String getAlgorithm() {
    return ALGORITHM;
  }

  @Override
  default String getTransformation() {
    return ALGORITHM;
  }

  @Override
  default int getIVSize() {
    return 8;
  }

  @Override
  default int getAuthenticationTagSize() {
    return TAG_BYTES;
  }

  @Override
  default int getCipherBlockSize() {
    return 8;
  }

  /** Two 256-bit keys: the payload's, then the packet length's. */
  @Override
  default int getKdfSize() {
    return 64;
  }

  @Override
  default int getKeySize() {
    return 256;
  }
}
