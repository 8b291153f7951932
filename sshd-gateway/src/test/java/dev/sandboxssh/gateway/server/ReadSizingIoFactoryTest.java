package dev.sandboxssh.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.gateway.e2e.Eventually;
import dev.sandboxssh.gateway.e2e.Timeouts;
import java.io.OutputStream;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.helpers.AbstractSession;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.AcceptAllPublickeyAuthenticator;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real MINA client against the gateway's transport: each connection's read buffer size. */
class ReadSizingIoFactoryTest {
  private static final int LARGE = CoreModuleProperties.NIO2_READ_BUFFER_SIZE.getRequiredDefault();

  private SshServer sshd;
  private SshClient client;

  @BeforeEach
  void start() throws Exception {
    sshd = GatewayServer.defaultSshServer();
    sshd.setHost("127.0.0.1");
    sshd.setPort(0);
    sshd.setKeyPairProvider(KeyPairProvider.wrap(ed25519()));
    sshd.setPublickeyAuthenticator(AcceptAllPublickeyAuthenticator.INSTANCE);
    sshd.setShellFactory(channel -> new NeverReads());
    sshd.start();
    client = SshClient.setUpDefaultClient();
    client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
    client.start();
  }

  @AfterEach
  void stop() throws Exception {
    client.stop();
    sshd.stop(true);
  }

  @Test
  void anInteractiveConnectionReadsSmallAndAnUploadLargeThenSmallAgain() throws Exception {
    try (ClientSession session =
        client.connect("me", "127.0.0.1", sshd.getPort()).verify(Timeouts.COMMAND).getSession()) {
      session.addPublicKeyIdentity(ed25519());
      session.auth().verify(Timeouts.COMMAND);
      ChannelShell shell = session.createShellChannel();
      shell.open().verify(Timeouts.COMMAND);
      ReadSizingIoFactory.SizedReadSession connection = serverConnection();

      // The login and the shell request: all short reads.
      assertThat(connection.readCapacity()).isEqualTo(ReadBufferSizer.SMALL);

      // Half a megabyte at once, within the channel's window (nothing reads it on the server).
      OutputStream stdin = shell.getInvertedIn();
      stdin.write(new byte[512 * 1024]);
      stdin.flush();
      Eventually.until(
          () -> "capacity " + connection.readCapacity(),
          Timeouts.EVENTUALLY,
          () -> connection.readCapacity() == LARGE,
          "the upload's reads grow the buffer");

      // Keystrokes, each its own packet and read.
      for (int i = 0; i < 3 * ReadBufferSizer.SHRINK_AFTER; i++) {
        stdin.write('x');
        stdin.flush();
        Thread.sleep(20);
      }
      Eventually.until(
          () -> "capacity " + connection.readCapacity(),
          Timeouts.EVENTUALLY,
          () -> connection.readCapacity() == ReadBufferSizer.SMALL,
          "a run of keystrokes gives the large buffer back");
    }
  }

  private ReadSizingIoFactory.SizedReadSession serverConnection() {
    List<AbstractSession> sessions =
        sshd.getActiveSessions().stream().map(AbstractSession.class::cast).toList();
    assertThat(sessions).hasSize(1);
    IoSession io = sessions.get(0).getIoSession();
    assertThat(io).isInstanceOf(ReadSizingIoFactory.SizedReadSession.class);
    return (ReadSizingIoFactory.SizedReadSession) io;
  }

  private static KeyPair ed25519() throws Exception {
    KeyPairGenerator generator = SecurityUtils.getKeyPairGenerator(SecurityUtils.EDDSA);
    generator.initialize(256);
    return generator.generateKeyPair();
  }

  /** A shell that holds its channel open and never reads its input. */
  private static final class NeverReads implements Command {
    @Override
    public void setInputStream(java.io.InputStream in) {}

    @Override
    public void setOutputStream(OutputStream out) {}

    @Override
    public void setErrorStream(OutputStream err) {}

    @Override
    public void setExitCallback(ExitCallback callback) {}

    @Override
    public void start(ChannelSession channel, Environment env) {}

    @Override
    public void destroy(ChannelSession channel) {}
  }
}
