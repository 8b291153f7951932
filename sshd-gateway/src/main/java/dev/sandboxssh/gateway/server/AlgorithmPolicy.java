package dev.sandboxssh.gateway.server;

import java.util.ArrayList;
import java.util.List;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.CipherFactory;
import org.apache.sshd.common.compression.BuiltinCompressions;
import org.apache.sshd.common.kex.BuiltinDHFactories;
import org.apache.sshd.common.mac.BuiltinMacs;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.server.ServerBuilder;
import org.apache.sshd.server.SshServer;

/**
 * The algorithms the gateway negotiates: modern only, without locking out the clients that
 * automation still runs on.
 *
 * <p>Dropped: NIST-curve and SHA-1 key exchange, CBC and RC4 ciphers, SHA-1 and MD5 MACs, ssh-rsa
 * (SHA-1) signatures, and compression before authentication. Kept on purpose: {@code
 * curve25519-sha256@libssh.org}, because Debian's paramiko 2.12 (under Ansible and Fabric) knows
 * curve25519 only by that name; AES-CTR with an ETM SHA-2 MAC, because paramiko 2.12 has no AEAD
 * cipher; {@code zlib@openssh.com}, which asyncssh asks for and which starts only after
 * authentication. Strict key exchange (the Terrapin mitigation) is MINA's default and stays on.
 */
public final class AlgorithmPolicy {
  static final List<BuiltinDHFactories> KEX =
      List.of(
          BuiltinDHFactories.mlkem768x25519,
          BuiltinDHFactories.sntrup761x25519,
          BuiltinDHFactories.sntrup761x25519_openssh,
          BuiltinDHFactories.curve25519,
          BuiltinDHFactories.curve25519_libssh,
          BuiltinDHFactories.dhg16_512,
          BuiltinDHFactories.dhg18_512,
          BuiltinDHFactories.dhg14_256);

  /**
   * Ciphers in the server's order of preference (clients choose by their own order; stock OpenSSH
   * asks for chacha20-poly1305 first). chacha20-poly1305 is the gateway's own implementation on the
   * JDK's ChaCha20, not MINA's plain-Java one; AES-GCM is MINA's, decrypting out of place ({@link
   * AesGcmCipher}).
   */
  static final List<CipherFactory> CIPHERS =
      List.of(
          AesGcmCipher.AES128,
          AesGcmCipher.AES256,
          ChaCha20Poly1305Cipher.FACTORY,
          BuiltinCiphers.aes128ctr,
          BuiltinCiphers.aes192ctr,
          BuiltinCiphers.aes256ctr);

  /**
   * ETM first, as OpenSSH orders them; the plain SHA-2 HMACs after, because libssh2 1.10 (under
   * curl's sftp:// and scp://, libgit2 and PHP's ssh2) knows no ETM MAC and no AEAD cipher. With
   * AES-CTR they are what OpenSSH's own default list offers, and strict key exchange stays on.
   */
  static final List<BuiltinMacs> MACS =
      List.of(
          BuiltinMacs.hmacsha256etm,
          BuiltinMacs.hmacsha512etm,
          BuiltinMacs.hmacsha256,
          BuiltinMacs.hmacsha512);

  /**
   * Signatures, for the host key and for users' keys: users keep ECDSA and security keys, but never
   * SHA-1 RSA; and the same as OpenSSH user certificates (owners' CAs). Certificate algorithms are
   * offered as host key algorithms only for host certificates, of which the gateway has none.
   */
  static final List<BuiltinSignatures> SIGNATURES =
      List.of(
          BuiltinSignatures.ed25519,
          BuiltinSignatures.sk_ssh_ed25519,
          BuiltinSignatures.rsaSHA512,
          BuiltinSignatures.rsaSHA256,
          BuiltinSignatures.nistp256,
          BuiltinSignatures.nistp384,
          BuiltinSignatures.nistp521,
          BuiltinSignatures.sk_ecdsa_sha2_nistp256,
          BuiltinSignatures.ed25519_cert,
          BuiltinSignatures.rsaSHA512_cert,
          BuiltinSignatures.rsaSHA256_cert,
          BuiltinSignatures.nistp256_cert,
          BuiltinSignatures.nistp384_cert,
          BuiltinSignatures.nistp521_cert);

  static final List<BuiltinCompressions> COMPRESSION =
      List.of(BuiltinCompressions.none, BuiltinCompressions.delayedZlib);

  private AlgorithmPolicy() {}

  /** Says which Poly1305 chacha20-poly1305 runs on, for the start-up log. */
  public static String chacha20Poly1305Implementation() {
    return ChaCha20Poly1305Cipher.poly1305Implementation();
  }

  /** Restricts {@code server} to the policy's algorithms that this JVM supports. */
  public static void apply(SshServer server) {
    server.setKeyExchangeFactories(
        NamedFactoryLists.supported(KEX).stream().map(ServerBuilder.DH2KEX).toList());
    server.setCipherFactories(new ArrayList<>(NamedFactoryLists.supported(CIPHERS)));
    server.setMacFactories(new ArrayList<>(NamedFactoryLists.supported(MACS)));
    server.setSignatureFactories(new ArrayList<>(NamedFactoryLists.supported(SIGNATURES)));
    server.setCompressionFactories(new ArrayList<>(NamedFactoryLists.supported(COMPRESSION)));
  }
}
