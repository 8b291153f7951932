package dev.sandboxssh.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.server.AlgorithmPolicy;
import dev.sandboxssh.gateway.session.LoginName;
import dev.sandboxssh.gateway.store.Owner;
import dev.sandboxssh.gateway.store.OwnerKey;
import dev.sandboxssh.gateway.store.OwnershipStore;
import dev.sandboxssh.gateway.store.PublicKeys;
import dev.sandboxssh.gateway.store.SandboxRecord;
import dev.sandboxssh.testing.AllocationBudget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.common.signature.Signature;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.UserAuthPublicKey;
import org.apache.sshd.server.session.ServerSession;
import org.junit.jupiter.api.Timeout;

/**
 * A client's "publickey" request with an arbitrary key blob, certificates above all, through what
 * the gateway decides with: {@link CheckedPublicKeyAuth} (revocation, certificate type, CA
 * signature, validity, critical options), then MINA's own checks and {@link OwnerKeyAuthenticator}
 * with {@link OwnershipCheck#decideCertificate} (trusted CA, principals). The threat: a client that
 * is not logged in yet sends any bytes it likes here, and certificates signed by a CA of its own
 * reach every check before the CA's trust.
 *
 * <p>Properties: nothing is thrown; a blob the gateway cannot parse, or one with bytes after its
 * key, is refused as {@code malformed-key} (or {@code unsupported-algorithm} for a type it does not
 * verify); every refusal has a reason ({@link OffloadedUserAuthServiceFactory#LAST_REFUSAL}, never
 * {@code store-error}: this store does not fail); a blob is otherwise accepted only when an
 * independent reading agrees: a user certificate, valid now, no critical option but {@code
 * source-address}, a principal the configuration accepts, a CA the owner trusts, not revoked; no
 * hang; bounded allocation.
 *
 * <p>The request is a key query (no signature), which MINA answers with PK_OK when the key would
 * do: the decision is complete there. Input: a byte of flags, then a blob. Bit 0 clear: the blob as
 * sent. Bit 0 set: a certificate without its signature key and signature, which the target appends,
 * signed by the test CA bits 1-3 pick (carol's ed25519, ECDSA or RSA CA, dave's, or a CA nobody
 * trusts), so that the fuzzer gets past the signature to the checks behind it. Bits 4-5: the user
 * name ({@code cdemo}, carol's sandbox; {@code carol}; {@code ddemo}, dave's; {@code nobody}). Bit
 * 6: the client's address, 192.0.2.7 or ::1. Bit 7: {@code auth.revoked-keys} is {@code
 * revoked.krl}. Carol also trusts the CAs of {@link CertificateFixtures}. Seeds ({@code
 * CertificateAuthFuzzTestInputs/decide/}): each of those certificates in both forms, and one cut
 * short.
 */
class CertificateAuthFuzzTest {
  private static final AllocationBudget budget = AllocationBudget.thisThread(32 << 20);

  private static final List<GatewayConfig.Principal> PRINCIPALS =
      List.of(
          GatewayConfig.Principal.SANDBOX,
          GatewayConfig.Principal.OWNER,
          GatewayConfig.Principal.ANY);

  private static final List<String> USERS = List.of("cdemo", "carol", "ddemo", "nobody");

  private record Signer(KeyPair pair, BuiltinSignatures algorithm) {}

  private static final List<Signer> SIGNERS;
  private static final OwnershipStore store;
  private static final RevokedKeys none = new RevokedKeys(null);
  private static final RevokedKeys krl;
  private static final SshServer server = SshServer.setUpDefaultServer();

  static {
    try {
      SIGNERS =
          List.of(
              new Signer(KeyUtils.generateKeyPair("ssh-ed25519", 256), BuiltinSignatures.ed25519),
              new Signer(
                  KeyUtils.generateKeyPair("ecdsa-sha2-nistp256", 256), BuiltinSignatures.nistp256),
              new Signer(KeyUtils.generateKeyPair("ssh-rsa", 2048), BuiltinSignatures.rsaSHA512),
              new Signer(KeyUtils.generateKeyPair("ssh-ed25519", 256), BuiltinSignatures.ed25519),
              new Signer(KeyUtils.generateKeyPair("ssh-ed25519", 256), BuiltinSignatures.ed25519));
      Path file = Files.createTempFile("fuzz-revoked", ".krl");
      file.toFile().deleteOnExit();
      Files.write(file, CertificateFixtures.bytes("revoked.krl"));
      krl = new RevokedKeys(file);
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<OwnerKey> carols = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      carols.add(PublicKeys.ownerKey(SIGNERS.get(i).pair().getPublic(), "ca"));
    }
    for (String ca : List.of("ca-ed25519", "ca-ecdsa", "ca-rsa")) {
      carols.add(PublicKeys.ownerKey(CertificateFixtures.key(ca), ca));
    }
    Instant t = Instant.EPOCH;
    store =
        new FixedStore(
            List.of(
                new Owner("carol", List.of(), carols, t),
                new Owner(
                    "dave",
                    List.of(),
                    List.of(PublicKeys.ownerKey(SIGNERS.get(3).pair().getPublic(), "ca")),
                    t)),
            List.of(sandbox("cdemo", "carol"), sandbox("ddemo", "dave")));
    AlgorithmPolicy.apply(server);
  }

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom).
  @Timeout(value = 5, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void decide(byte[] input) throws Exception {
    if (input.length == 0) {
      return;
    }
    int flags = input[0] & 0xff;
    byte[] rest = Arrays.copyOfRange(input, 1, input.length);
    byte[] blob = (flags & 1) == 0 ? rest : signed(rest, SIGNERS.get(Math.min(flags >> 1 & 7, 4)));
    String user = USERS.get(flags >> 4 & 3);
    SocketAddress remote = new InetSocketAddress((flags & 0x40) == 0 ? "192.0.2.7" : "::1", 50022);
    boolean revocations = (flags & 0x80) != 0;
    budget.run(
        "deciding on a " + blob.length + "-byte key blob",
        () -> check(blob, user, remote, revocations));
  }

  private static void check(byte[] blob, String user, SocketAddress remote, boolean revocations)
      throws Exception {
    FakeSession fake = new FakeSession(remote);
    ServerSession session = fake.proxy();
    UserAuthPublicKey auth =
        CheckedPublicKeyAuth.factory(revocations ? krl : none).createUserAuth(session);
    Buffer request = new ByteArrayBuffer();
    request.putBoolean(false); // a query: no signature
    request.putString(typeOf(blob));
    request.putBytes(blob);

    PublicKey key = parse(blob);
    // Whatever the blob, the gateway answers: MINA's own exceptions are for requests the gateway
    // has not already refused with a reason.
    Boolean result = auth.auth(session, user, "ssh-connection", request);
    OffloadedUserAuthServiceFactory.Refusal refusal =
        (OffloadedUserAuthServiceFactory.Refusal)
            fake.attributes.get(OffloadedUserAuthServiceFactory.LAST_REFUSAL);
    if (result != null) {
      assertThat(result).as("a query is never a login").isFalse();
      assertThat(refusal).as("a refusal has a reason").isNotNull();
      assertThat(refusal.reason()).isNotEqualTo(LoginFailure.STORE_ERROR.label());
      assertThat(fake.written).isEmpty();
      if (key == null || hasTrailingBytes(blob)) {
        // Unreadable, or a key with bytes after it (which OpenSSH refuses too); a type the
        // signature policy leaves out (ssh-dss) is named as such.
        assertThat(refusal.reason())
            .isIn(LoginFailure.MALFORMED_KEY.label(), LoginFailure.UNSUPPORTED_ALGORITHM.label());
      }
      return;
    }
    // Accepted: MINA sent PK_OK.
    assertThat(fake.written).hasSize(1);
    assertThat(key).isNotNull();
    if (key instanceof OpenSshCertificate cert) {
      assertAcceptable(cert, user, revocations);
    }
  }

  /** What OpenSSH would also require of a certificate before it lets it in. */
  private static void assertAcceptable(OpenSshCertificate cert, String user, boolean revocations) {
    assertThat(cert.getType()).isEqualTo(OpenSshCertificate.Type.USER);
    long now = Instant.now().getEpochSecond();
    assertThat(Long.compareUnsigned(cert.getValidAfter(), now)).isLessThanOrEqualTo(0);
    assertThat(Long.compareUnsigned(now, cert.getValidBefore())).isLessThan(0);
    for (Map.Entry<String, String> o : cert.getCriticalOptionsMap().entrySet()) {
      assertThat(o.getKey()).isEqualTo("source-address");
      assertThat(o.getValue()).isNotNull();
    }
    String base = LoginName.parse(user).base();
    Optional<SandboxRecord> sandbox = store.findSandbox(base);
    String owner = sandbox.map(SandboxRecord::owner).orElse(base);
    Set<String> accepted = sandbox.isPresent() ? Set.of(base, owner, "*") : Set.of(owner, "*");
    assertThat(cert.getPrincipals()).containsAnyElementsOf(accepted);
    String ca = PublicKeys.fingerprint(cert.getCaPubKey());
    assertThat(store.findOwner(owner).orElseThrow().cas())
        .extracting(OwnerKey::fingerprint)
        .contains(ca);
    if (revocations && ca.equals(PublicKeys.fingerprint(CertificateFixtures.key("ca-ed25519")))) {
      assertThat(cert.getSerial()).isNotEqualTo(42L);
      assertThat(cert.getId()).isNotEqualTo("revoked-id");
    }
  }

  /** The key of a blob, read as {@link CheckedPublicKeyAuth} reads it; null when it cannot be. */
  private static PublicKey parse(byte[] blob) {
    try {
      return new ByteArrayBuffer(blob).getRawPublicKey();
    } catch (Exception e) {
      return null;
    }
  }

  /** Whether bytes follow the key that {@code blob} starts with (false when it has none). */
  private static boolean hasTrailingBytes(byte[] blob) {
    ByteArrayBuffer b = new ByteArrayBuffer(blob);
    try {
      b.getRawPublicKey();
    } catch (Exception e) {
      return false;
    }
    return b.available() > 0;
  }

  /** {@code tbs} (a certificate up to its reserved field) with a CA key and its signature. */
  private static byte[] signed(byte[] tbs, Signer signer) throws Exception {
    Buffer b = new ByteArrayBuffer();
    b.putRawBytes(tbs);
    Buffer ca = new ByteArrayBuffer();
    ca.putRawPublicKey(signer.pair().getPublic());
    b.putBytes(ca.getCompactData());
    Signature s = signer.algorithm().create();
    s.initSigner(null, signer.pair().getPrivate());
    s.update(null, b.getCompactData());
    Buffer sig = new ByteArrayBuffer();
    sig.putString(signer.algorithm().getName());
    sig.putBytes(s.sign(null));
    b.putBytes(sig.getCompactData());
    return b.getCompactData();
  }

  /** The algorithm a client names for a blob: from its key type, as OpenSSH's client picks it. */
  private static String typeOf(byte[] blob) {
    if (blob.length >= 4) {
      int n = ByteBuffer.wrap(blob).getInt();
      if (n > 0 && n <= 64 && n <= blob.length - 4) {
        String type = new String(blob, 4, n, StandardCharsets.ISO_8859_1);
        if (type.matches("[A-Za-z0-9@._+-]+")) {
          // OpenSSH signs with SHA-512 for an RSA key; the gateway does not accept ssh-rsa (SHA-1).
          return switch (type) {
            case "ssh-rsa" -> "rsa-sha2-512";
            case "ssh-rsa-cert-v01@openssh.com" -> "rsa-sha2-512-cert-v01@openssh.com";
            default -> type;
          };
        }
      }
    }
    return "ssh-ed25519-cert-v01@openssh.com";
  }

  private static SandboxRecord sandbox(String id, String owner) {
    return new SandboxRecord(
        id,
        owner,
        SandboxRecord.Provider.LOCAL,
        null,
        null,
        SandboxRecord.State.RUNNING,
        Instant.EPOCH);
  }

  /**
   * The part of a server session that authentication uses; any other call fails the input, so that
   * a path this target does not model shows up rather than passing unseen.
   */
  private static final class FakeSession {
    final Map<Object, Object> attributes = new HashMap<>();
    final List<Buffer> written = new ArrayList<>();
    private final SocketAddress remote;
    private final OwnerKeyAuthenticator authenticator =
        new OwnerKeyAuthenticator(new OwnershipCheck(store, PRINCIPALS));

    FakeSession(SocketAddress remote) {
      this.remote = remote;
    }

    ServerSession proxy() {
      return (ServerSession)
          Proxy.newProxyInstance(
              ServerSession.class.getClassLoader(),
              new Class<?>[] {ServerSession.class},
              (proxy, method, args) ->
                  switch (method.getName()) {
                    case "getRemoteAddress" -> remote;
                    case "getPublickeyAuthenticator" -> authenticator;
                    case "getSignatureFactories" -> server.getSignatureFactories();
                    case "setAttribute" -> attributes.put(args[0], args[1]);
                    case "getAttribute" -> attributes.get(args[0]);
                    case "createBuffer" -> {
                      Buffer b = new ByteArrayBuffer();
                      b.putByte((Byte) args[0]);
                      yield b;
                    }
                    case "writePacket" -> {
                      written.add((Buffer) args[0]);
                      yield null;
                    }
                    case "toString" -> "fuzz-session";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.toString());
                  });
    }
  }

  /** Owners and sandboxes that never change; a login only reads them. */
  private record FixedStore(List<Owner> owners, List<SandboxRecord> sandboxes)
      implements OwnershipStore {
    @Override
    public List<Owner> listOwners() {
      return owners;
    }

    @Override
    public Optional<Owner> findOwner(String name) {
      return owners.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    @Override
    public Optional<SandboxRecord> findSandbox(String id) {
      return sandboxes.stream().filter(s -> s.id().equals(id)).findFirst();
    }

    @Override
    public List<SandboxRecord> listSandboxes() {
      return sandboxes;
    }

    @Override
    public boolean isEmpty() {
      return false;
    }

    @Override
    public Owner addOwner(String name, List<OwnerKey> keys, List<OwnerKey> cas) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void removeOwner(String name) {
      throw new UnsupportedOperationException();
    }

    @Override
    public SandboxRecord createSandbox(SandboxRecord sandbox) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void deleteSandbox(String id) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void updateState(String id, SandboxRecord.State state) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void close() {}
  }
}
