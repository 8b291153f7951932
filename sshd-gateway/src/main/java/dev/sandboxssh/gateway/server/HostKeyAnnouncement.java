package dev.sandboxssh.gateway.server;

import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.regex.Pattern;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.global.AbstractOpenSshHostKeysHandler;
import org.apache.sshd.common.kex.KexProposalOption;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.common.signature.Signature;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.global.OpenSshHostKeysHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenSSH's host key rotation (PROTOCOL section 2.5), as its sshd does it: right after login the
 * gateway sends {@code hostkeys-00@openssh.com} (want-reply false) with every host key, current and
 * next; a client with {@code UpdateHostKeys} then asks with {@code hostkeys-prove-00@openssh.com}
 * for a signature by each key it did not know, and adds the proven ones to known_hosts (and drops
 * the keys of that host that are no longer announced).
 *
 * <p>MINA's own {@code OpenSshHostKeysHandler} is replaced: it signs with the first key of the
 * requested key's type (wrong for a next key of the same type as a current one), picks the
 * signature by key type (ssh-rsa, SHA-1, which the algorithm policy drops and OpenSSH rejects as a
 * proof), and puts the bare signature where OpenSSH expects the signature blob (algorithm name and
 * signature).
 */
final class HostKeyAnnouncement {
  private static final Logger log = LoggerFactory.getLogger(HostKeyAnnouncement.class);

  static final String ANNOUNCE = "hostkeys-00@openssh.com";
  static final String PROVE = "hostkeys-prove-00@openssh.com";

  /** Clients that OpenSSH's sshd spares the announcement (compat.c, SSH_BUG_HOSTKEYS). */
  private static final Pattern CANNOT_COPE =
      Pattern.compile(
          "SSH-[^-]+-(Cisco-1\\.|TeraTerm SSH|TTSSH/(1\\.5\\.|2\\.[1-6]|2\\.7[0-2])).*");

  private HostKeyAnnouncement() {}

  /**
   * Announces {@code keys} after each login on {@code sshd}, from {@code writers}, and answers the
   * proof requests. Call after the global request handlers are set: it replaces MINA's proof
   * handler in that list.
   */
  static void install(SshServer sshd, HostKeys keys, Executor writers) {
    List<RequestHandler<ConnectionService>> handlers = new ArrayList<>();
    handlers.add(new ProofHandler(keys));
    for (RequestHandler<ConnectionService> h : sshd.getGlobalRequestHandlers()) {
      if (!(h instanceof OpenSshHostKeysHandler)) {
        handlers.add(h);
      }
    }
    sshd.setGlobalRequestHandlers(handlers);
    sshd.addSessionListener(
        new SessionListener() {
          @Override
          public void sessionEvent(Session session, Event event) {
            if (event != Event.Authenticated
                || CANNOT_COPE.matcher(clientVersion(session)).matches()) {
              return;
            }
            // MINA raises this while it holds the session's encoder with USERAUTH_SUCCESS encoded
            // but not yet written: a packet written from this thread would overtake it. Another
            // thread waits for the encoder and writes after it.
            try {
              writers.execute(() -> announce(session, keys.announced()));
            } catch (RejectedExecutionException e) {
              // The gateway is stopping.
            }
          }
        });
  }

  private static String clientVersion(Session session) {
    String v = session.getClientVersion();
    return v == null ? "" : v;
  }

  private static void announce(Session session, List<PublicKey> keys) {
    if (!session.isOpen()) {
      return;
    }
    try {
      Buffer request = session.createBuffer(SshConstants.SSH_MSG_GLOBAL_REQUEST);
      request.putString(ANNOUNCE);
      request.putBoolean(false);
      for (PublicKey key : keys) {
        request.putPublicKey(key);
      }
      session.writePacket(request);
    } catch (Exception e) {
      log.debug("announcing host keys to {}: {}", session, e.toString());
    }
  }

  /**
   * The signature algorithm of a proof by {@code key}: RSA signs with the algorithm negotiated for
   * key exchange when that was RSA (OpenSSH clients then demand it), else with rsa-sha2-512; other
   * keys with their only one.
   */
  static String signatureAlgorithm(PublicKey key, String negotiatedHostKeyAlgorithm) {
    String type = KeyUtils.getKeyType(key);
    if (!KeyPairProvider.SSH_RSA.equals(type)) {
      return type;
    }
    if (KeyUtils.RSA_SHA256_KEY_TYPE_ALIAS.equals(negotiatedHostKeyAlgorithm)
        || KeyUtils.RSA_SHA512_KEY_TYPE_ALIAS.equals(negotiatedHostKeyAlgorithm)) {
      return negotiatedHostKeyAlgorithm;
    }
    return KeyUtils.RSA_SHA512_KEY_TYPE_ALIAS;
  }

  /**
   * The proof that the gateway holds {@code pair}: a signature blob (algorithm name, signature)
   * over the request name, the session id and the public key, as OpenSSH's sshd makes it.
   */
  static byte[] proof(SessionContext session, byte[] sessionId, KeyPair pair, String algorithm)
      throws Exception {
    BuiltinSignatures factory = BuiltinSignatures.fromFactoryName(algorithm);
    if (factory == null || !factory.isSupported()) {
      throw new IllegalStateException("no signature algorithm " + algorithm);
    }
    Signature signer = factory.create();
    signer.initSigner(session, pair.getPrivate());
    ByteArrayBuffer signed = new ByteArrayBuffer();
    signed.putString(PROVE);
    signed.putBytes(sessionId);
    signed.putPublicKey(pair.getPublic());
    signer.update(session, signed.getCompactData());
    ByteArrayBuffer blob = new ByteArrayBuffer();
    blob.putString(signer.getSshAlgorithmName(algorithm));
    blob.putBytes(signer.sign(session));
    return blob.getCompactData();
  }

  /** Answers {@code hostkeys-prove-00@openssh.com} with a proof by each requested key. */
  static final class ProofHandler extends AbstractOpenSshHostKeysHandler {
    private final HostKeys keys;

    ProofHandler(HostKeys keys) {
      super(PROVE);
      this.keys = keys;
    }

    @Override
    protected Result handleHostKeys(
        Session session,
        Collection<? extends PublicKey> requested,
        boolean wantReply,
        Buffer buffer)
        throws Exception {
      if (!wantReply) {
        return Result.Replied;
      }
      String negotiated = session.getNegotiatedKexParameter(KexProposalOption.SERVERKEYS);
      Buffer reply = session.createBuffer(SshConstants.SSH_MSG_REQUEST_SUCCESS);
      for (PublicKey key : requested) {
        KeyPair pair = keys.find(key);
        if (pair == null) {
          log.warn(
              "{} asked to prove a host key the gateway does not have: {} {}",
              session,
              KeyUtils.getKeyType(key),
              KeyUtils.getFingerPrint(key));
          return Result.ReplyFailure;
        }
        reply.putBytes(
            proof(session, session.getSessionId(), pair, signatureAlgorithm(key, negotiated)));
      }
      session.writePacket(reply);
      return Result.Replied;
    }
  }
}
