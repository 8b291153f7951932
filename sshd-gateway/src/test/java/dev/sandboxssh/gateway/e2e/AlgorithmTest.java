package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The algorithm policy: weak algorithms are refused, and the clients automation runs on (Debian's
 * paramiko 2.12, asyncssh with zlib) still connect.
 */
@Tag("e2e")
class AlgorithmTest {

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void nistCurveKexIsRefused() {
    assertRefused("no matching key exchange method", "-o", "KexAlgorithms=ecdh-sha2-nistp256");
  }

  @Test
  void sha1MacIsRefused() {
    // With an AEAD cipher no MAC is negotiated at all; pick a cipher that needs one.
    assertRefused("no matching MAC", "-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1");
  }

  @Test
  void cbcCipherIsRefused() {
    assertRefused("no matching cipher", "-o", "Ciphers=aes128-cbc");
  }

  @Test
  void aesCtrWithEtmSha2Works() {
    OpenSsh.Result r =
        ssh.ssh(
            GatewayFixture.SANDBOX,
            "echo ok",
            "-v",
            "-o",
            "Ciphers=aes128-ctr",
            "-o",
            "MACs=hmac-sha2-256-etm@openssh.com");
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("ok\n");
    assertThat(r.stderr())
        .contains("server->client cipher: aes128-ctr MAC: hmac-sha2-256-etm@openssh.com");
  }

  @Test
  void paramikoWithDebian12sAlgorithmsConnectsAndRunsACommand() {
    // Whatever paramiko is installed, it offers only what Debian 12's paramiko 2.12 knows: no
    // AEAD cipher, curve25519 only by its libssh.org name. Kex, cipher and MAC are then what the
    // policy keeps for such clients.
    String script =
        """
        import sys, logging, paramiko
        PARAMIKO_2_12 = {
            'kex': ['curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384',
                    'ecdh-sha2-nistp521', 'diffie-hellman-group16-sha512',
                    'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group14-sha256',
                    'diffie-hellman-group-exchange-sha1', 'diffie-hellman-group14-sha1',
                    'diffie-hellman-group1-sha1'],
            'ciphers': ['aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-cbc', 'aes192-cbc',
                        'aes256-cbc', '3des-cbc'],
            'macs': ['hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha2-256-etm@openssh.com',
                     'hmac-sha2-512-etm@openssh.com', 'hmac-sha1', 'hmac-md5', 'hmac-sha1-96',
                     'hmac-md5-96'],
        }
        disabled = {kind: [a for a in getattr(paramiko.Transport, '_preferred_' + kind)
                           if a not in known]
                    for kind, known in PARAMIKO_2_12.items()}
        kex = []
        class KexLog(logging.Handler):
            def emit(self, record):
                if record.getMessage().startswith('Kex: '):
                    kex.append(record.getMessage()[5:])
        log = logging.getLogger('paramiko.transport')
        log.setLevel(logging.DEBUG)
        log.addHandler(KexLog())
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        c.connect('127.0.0.1', port=int(sys.argv[1]), username='demo',
                  pkey=paramiko.Ed25519Key.from_private_key_file(sys.argv[2]),
                  allow_agent=False, look_for_keys=False, timeout=30,
                  disabled_algorithms=disabled)
        t = c.get_transport()
        _, out, _ = c.exec_command('echo via-paramiko')
        data = out.read().decode()
        print(data + 'status=%d' % out.channel.recv_exit_status())
        print('kex=%s' % ','.join(kex))
        print('cipher=%s,%s' % (t.local_cipher, t.remote_cipher))
        print('mac=%s,%s' % (t.local_mac, t.remote_mac))
        c.close()
        """;
    OpenSsh.Result r = python(script);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout())
        .isEqualTo(
            """
            via-paramiko
            status=0
            kex=curve25519-sha256@libssh.org
            cipher=aes128-ctr,aes128-ctr
            mac=hmac-sha2-256,hmac-sha2-256
            """);
  }

  @Test
  void asyncsshWithZlibConnects() {
    String script =
        """
        import sys, asyncio, asyncssh
        async def main():
            async with asyncssh.connect('127.0.0.1', port=int(sys.argv[1]), username='demo',
                                        client_keys=[sys.argv[2]], known_hosts=None,
                                        agent_path=None,
                                        compression_algs=['zlib@openssh.com']) as c:
                r = await c.run('echo via-asyncssh', check=False)
                print(r.stdout + 'status=%s compression=%s' % (
                    r.exit_status, c.get_extra_info('send_compression')))
        asyncio.run(main())
        """;
    OpenSsh.Result r = python(script);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("via-asyncssh\nstatus=0 compression=zlib@openssh.com\n");
  }

  private void assertRefused(String why, String... options) {
    String[] withLog = new String[options.length + 2];
    System.arraycopy(options, 0, withLog, 0, options.length);
    // ssh reports a failed negotiation at INFO; the default test options would hide it.
    withLog[options.length] = "-o";
    withLog[options.length + 1] = "LogLevel=INFO";
    OpenSsh.Result r = ssh.ssh(GatewayFixture.SANDBOX, "echo should-not-run", withLog);
    assertThat(r.exitCode()).isEqualTo(255);
    assertThat(r.stdout()).isEmpty();
    assertThat(r.stderr()).contains("Unable to negotiate").contains(why);
  }

  private static OpenSsh.Result python(String script) {
    return PythonClients.run(
        script, Integer.toString(gateway.port()), gateway.aliceKey().toString());
  }
}
