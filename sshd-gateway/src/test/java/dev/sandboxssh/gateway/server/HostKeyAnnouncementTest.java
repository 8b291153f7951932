package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.common.signature.Signature;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.global.OpenSshHostKeysHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proofs of host key ownership, and where the proof handler goes. */
class HostKeyAnnouncementTest {
  private static final byte[] SESSION_ID = "a session id".getBytes(StandardCharsets.UTF_8);

  @Test
  void rsaProvesWithTheNegotiatedSha2AlgorithmElseSha512() throws Exception {
    KeyPair rsa = rsa();
    assertThat(HostKeyAnnouncement.signatureAlgorithm(rsa.getPublic(), "rsa-sha2-256"))
        .isEqualTo("rsa-sha2-256");
    assertThat(HostKeyAnnouncement.signatureAlgorithm(rsa.getPublic(), "rsa-sha2-512"))
        .isEqualTo("rsa-sha2-512");
    assertThat(HostKeyAnnouncement.signatureAlgorithm(rsa.getPublic(), "ssh-ed25519"))
        .isEqualTo("rsa-sha2-512");
    assertThat(HostKeyAnnouncement.signatureAlgorithm(ed25519().getPublic(), "rsa-sha2-256"))
        .isEqualTo("ssh-ed25519");
  }

  @Test
  void aProofIsASignatureBlobOverNameSessionIdAndKey() throws Exception {
    for (KeyPair pair : new KeyPair[] {ed25519(), rsa()}) {
      for (String algorithm :
          KeyUtils.getKeyType(pair.getPublic()).equals("ssh-rsa")
              ? new String[] {"rsa-sha2-512", "rsa-sha2-256"}
              : new String[] {"ssh-ed25519"}) {
        byte[] proof = HostKeyAnnouncement.proof(null, SESSION_ID, pair, algorithm);

        ByteArrayBuffer blob = new ByteArrayBuffer(proof);
        assertThat(blob.getString()).isEqualTo(algorithm);
        byte[] signature = blob.getBytes();
        assertThat(blob.available()).isZero();
        ByteArrayBuffer signed = new ByteArrayBuffer();
        signed.putString("hostkeys-prove-00@openssh.com");
        signed.putBytes(SESSION_ID);
        signed.putPublicKey(pair.getPublic());
        Signature verifier = BuiltinSignatures.fromFactoryName(algorithm).create();
        verifier.initVerifier(null, pair.getPublic());
        verifier.update(null, signed.getCompactData());
        assertThat(verifier.verify(null, signature)).as(algorithm).isTrue();
      }
    }
  }

  @Test
  void theProofHandlerReplacesMinas(@TempDir Path keys) throws Exception {
    SshServer sshd = SshServer.setUpDefaultServer();
    int before = sshd.getGlobalRequestHandlers().size();

    HostKeyAnnouncement.install(sshd, HostKeys.loadOrCreate(keys, false), Runnable::run);

    assertThat(sshd.getGlobalRequestHandlers())
        .hasSize(before)
        .noneMatch(h -> h instanceof OpenSshHostKeysHandler)
        .anyMatch(h -> h instanceof HostKeyAnnouncement.ProofHandler);
  }

  private static KeyPair ed25519() throws Exception {
    KeyPairGenerator generator = SecurityUtils.getKeyPairGenerator(SecurityUtils.EDDSA);
    generator.initialize(256);
    return generator.generateKeyPair();
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator generator = SecurityUtils.getKeyPairGenerator(KeyUtils.RSA_ALGORITHM);
    generator.initialize(2048);
    return generator.generateKeyPair();
  }
}
