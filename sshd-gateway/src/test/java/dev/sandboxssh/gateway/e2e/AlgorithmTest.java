package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
  /** Debian's python, where python3-paramiko and python3-asyncssh are installed. */
  private static final Path PYTHON = Path.of("/usr/bin/python3");

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
  void paramikoConnectsAndRunsACommand() {
    String script =
        """
        import sys, paramiko
        c = paramiko.SSHClient()
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        c.connect('127.0.0.1', port=int(sys.argv[1]), username='demo',
                  pkey=paramiko.Ed25519Key.from_private_key_file(sys.argv[2]),
                  allow_agent=False, look_for_keys=False, timeout=30)
        t = c.get_transport()
        _, out, _ = c.exec_command('echo via-paramiko')
        data = out.read().decode()
        print(data + 'status=%d version=%s cipher=%s mac=%s' % (
            out.channel.recv_exit_status(), paramiko.__version__, t.local_cipher, t.local_mac))
        c.close()
        """;
    OpenSsh.Result r = python(script);
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).startsWith("via-paramiko\nstatus=0 version=2.12");
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
    if (!Files.isExecutable(PYTHON)) {
      fail(
          PYTHON + " is missing: run .ci/run or apt-get install python3-paramiko python3-asyncssh");
    }
    return OpenSsh.run(
        List.of(
            PYTHON.toString(),
            "-W",
            "ignore",
            "-c",
            script,
            Integer.toString(gateway.port()),
            gateway.aliceKey().toString()),
        new byte[0],
        Timeouts.COMMAND);
  }
}
