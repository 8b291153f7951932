package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Iterator;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.LocalWindow;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.common.util.buffer.Buffer;

/**
 * MINA's SSH client, for the requests OpenSSH cannot express exactly (window-change sizes, {@code
 * signal}, absurd PTY sizes, huge env values, reading {@code exit-signal}). One connected and
 * authenticated session per instance.
 */
public final class MinaClient implements AutoCloseable {
  private final SshClient client;
  private final ClientSession session;

  private MinaClient(SshClient client, ClientSession session) {
    this.client = client;
    this.session = session;
  }

  /** Logs in to {@code sandbox} on {@code gateway} with {@code key} (an OpenSSH private key). */
  public static MinaClient connect(GatewayFixture gateway, String sandbox, Path key)
      throws IOException {
    return connect(gateway.port(), sandbox, key);
  }

  /** Logs in to {@code sandbox} on a gateway at 127.0.0.1:{@code port} with {@code key}. */
  public static MinaClient connect(int port, String sandbox, Path key) throws IOException {
    SshClient client = SshClient.setUpDefaultClient();
    client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
    client.start();
    try {
      ClientSession session =
          client.connect(sandbox, "127.0.0.1", port).verify(Timeouts.COMMAND).getSession();
      Iterator<KeyPair> keys = new FileKeyPairProvider(key).loadKeys(null).iterator();
      session.addPublicKeyIdentity(keys.next());
      session.auth().verify(Timeouts.COMMAND);
      return new MinaClient(client, session);
    } catch (IOException | RuntimeException e) {
      client.stop();
      throw e;
    }
  }

  /** Alice's login to her sandbox demo. */
  public static MinaClient connect(GatewayFixture gateway) throws IOException {
    return connect(gateway, GatewayFixture.SANDBOX, gateway.aliceKey());
  }

  /** The authenticated session. */
  public ClientSession session() {
    return session;
  }

  /** Sends a {@code signal} channel request (RFC 4254 section 6.9) with {@code name}. */
  public static void sendSignal(Channel channel, String name) throws IOException {
    Buffer buffer =
        channel.getSession().createBuffer(SshConstants.SSH_MSG_CHANNEL_REQUEST, name.length() + 32);
    buffer.putUInt(channel.getRecipient());
    buffer.putString("signal");
    buffer.putBoolean(false);
    buffer.putString(name);
    channel.writePacket(buffer);
  }

  /** Waits until {@code channel} is closed, failing after {@code timeout}. */
  public static void awaitClosed(ClientChannel channel, Duration timeout) {
    assertThat(channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout))
        .as("channel closed within %s", timeout)
        .contains(ClientChannelEvent.CLOSED);
  }

  /** Waits until {@code channel} has its exit status or signal, failing after {@code timeout}. */
  public static void awaitExit(ClientChannel channel, Duration timeout) {
    Eventually.until(
        "exit status or signal",
        timeout,
        () -> channel.getExitStatus() != null || channel.getExitSignal() != null);
  }

  /**
   * What {@code channel} has received and not read, once the gateway stops sending: its window
   * announced less what is left of it, steady for half a second.
   */
  public static long receivedOnceStalled(Channel channel) {
    LocalWindow window = channel.getLocalWindow();
    long announced = window.getMaxSize();
    long[] received = {-1};
    Eventually.until(
        () -> "received=" + received[0],
        Timeouts.EVENTUALLY,
        () -> {
          long before = announced - window.getSize();
          try {
            Thread.sleep(500);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
          }
          received[0] = announced - window.getSize();
          return received[0] > 0 && received[0] == before;
        },
        "the gateway stops sending");
    return received[0];
  }

  @Override
  public void close() throws IOException {
    try {
      session.close(false).await(Timeouts.COMMAND);
    } finally {
      client.stop();
    }
  }

  /** An output stream a test can watch grow: what a channel wrote so far. */
  public static final class Output extends OutputStream {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override
    public synchronized void write(int b) {
      bytes.write(b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      bytes.write(b, off, len);
    }

    /** Everything so far, as UTF-8. */
    public synchronized String text() {
      return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Waits until the output contains {@code expected}. */
    public void await(String expected, Duration timeout) {
      Eventually.until(
          this::text, timeout, () -> text().contains(expected), "output has " + expected);
    }
  }
}
