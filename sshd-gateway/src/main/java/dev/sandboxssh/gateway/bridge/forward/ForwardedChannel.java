package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.gateway.session.ClientPath;
import java.io.IOException;
import java.util.function.Consumer;
import org.apache.sshd.client.channel.AbstractClientChannel;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.SshException;
import org.apache.sshd.common.channel.ChannelAsyncOutputStream;
import org.apache.sshd.common.channel.LocalWindow;
import org.apache.sshd.common.channel.StreamingChannel;
import org.apache.sshd.common.util.buffer.Buffer;

/**
 * A channel the gateway opens towards the client for a connection accepted inside the sandbox:
 * {@code forwarded-tcpip} ({@code ssh -R}), {@code forwarded-streamlocal@openssh.com}, or {@code
 * auth-agent@openssh.com} ({@code ssh -A}). Its bytes are relayed by a {@link TunnelRelay}.
 */
final class ForwardedChannel extends AbstractClientChannel implements TunnelRelay.ChannelEnd {
  private final TunnelRelay relay;
  private final Consumer<Buffer> openPayload;

  /**
   * A channel of {@code type} whose CHANNEL_OPEN carries what {@code openPayload} appends (the
   * type-specific fields of RFC 4254 section 7.2 and OpenSSH's PROTOCOL).
   */
  ForwardedChannel(String type, TunnelRelay relay, Consumer<Buffer> openPayload) {
    super(type);
    this.relay = relay;
    this.openPayload = openPayload;
    // The base class then expands asyncIn's window and flushes it on close.
    this.streaming = StreamingChannel.Streaming.Async;
    addCloseFutureListener(closed -> relay.channelClosed());
  }

  @Override
  public synchronized OpenFuture open() throws IOException {
    if (isClosing()) {
      throw new SshException("the session is closing");
    }
    openFuture = new DefaultOpenFuture(this.toString(), futureLock);
    LocalWindow window = getLocalWindow();
    Buffer buffer = getSession().createBuffer(SshConstants.SSH_MSG_CHANNEL_OPEN, 128);
    buffer.putString(getChannelType());
    buffer.putUInt(getChannelId());
    buffer.putUInt(window.getSize());
    buffer.putUInt(window.getPacketSize());
    openPayload.accept(buffer);
    writePacket(buffer);
    return openFuture;
  }

  /** Takes the part of the client's window {@link ClientPath} says to fill. */
  @Override
  public void handleOpenSuccess(long recipient, long rwSize, long packetSize, Buffer buffer) {
    super.handleOpenSuccess(
        recipient, ClientPath.windowToUse(getSession(), rwSize, packetSize), packetSize, buffer);
  }

  @Override
  protected synchronized void doOpen() {
    asyncIn = new ChannelAsyncOutputStream(this, SshConstants.SSH_MSG_CHANNEL_DATA);
  }

  @Override
  protected void doWriteData(byte[] data, int off, long len) {
    relay.fromClient(data, off, (int) len);
  }

  @Override
  protected void doWriteExtendedData(byte[] data, int off, long len) throws IOException {
    throw new IOException(getChannelType() + " channels carry no extended data");
  }

  @Override
  public void handleEof() throws IOException {
    super.handleEof();
    relay.clientEof();
  }

  @Override
  public ChannelAsyncOutputStream toClient() {
    return (ChannelAsyncOutputStream) asyncIn;
  }

  @Override
  public void sendEofToClient() throws IOException {
    sendEof();
  }

  @Override
  public void closeGracefully() {
    close(false);
  }
}
