package dev.sandboxssh.gateway.bridge.forward;

import dev.sandboxssh.gateway.bridge.io.ChunkQueue;
import dev.sandboxssh.gateway.bridge.io.InputWindow;
import dev.sandboxssh.gateway.bridge.io.OutputPackets;
import dev.sandboxssh.sdk.Tunnel;
import dev.sandboxssh.sdk.TunnelHandler;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.channel.ChannelAsyncOutputStream;
import org.apache.sshd.common.channel.LocalWindow;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays the bytes of one forwarding channel between the SSH client and a {@link Tunnel} inside the
 * sandbox, with back-pressure both ways and half-closes mapped onto each other.
 *
 * <p>Client to sandbox: MINA hands data over on its I/O threads, which must never block, so it is
 * queued and written to the tunnel (which blocks under gRPC flow control) by a worker; the
 * channel's local window is re-opened only once a chunk is written, so the queue never holds more
 * than one window. Sandbox to client: the tunnel calls {@link #onData} (or {@link #onLentData}) on
 * its own thread, which sends the chunk a packet at a time, each once the previous one has left
 * through the channel's remote window, so the agent is asked for more only as fast as the client
 * reads.
 */
final class TunnelRelay implements TunnelHandler {
  private static final Logger log = LoggerFactory.getLogger(TunnelRelay.class);

  /** The SSH side of a relay: implemented by the channels. */
  interface ChannelEnd {
    /** The stream towards the client; set once the channel is open. */
    ChannelAsyncOutputStream toClient();

    /** Sends SSH_MSG_CHANNEL_EOF. */
    void sendEofToClient() throws IOException;

    /** The window the client's data arrives in. */
    LocalWindow getLocalWindow();

    /** Closes the channel once what was queued for the client is sent. */
    void closeGracefully();
  }

  private static final Object EOF = new Object();
  private static final Object CLOSE = new Object();

  private final String name;
  private final SessionSandbox accounts;
  private final ForwardingThreads threads;
  private final CompletableFuture<ChannelEnd> channel = new CompletableFuture<>();
  private final CompletableFuture<Tunnel> tunnel = new CompletableFuture<>();
  // Guarded by itself: byte[] chunks, EOF and CLOSE, in order.
  private final ChunkQueue toTunnel = new ChunkQueue(COALESCE_BYTES);
  private boolean draining;
  // Touched only by SDK callbacks, which run one at a time.
  private IoWriteFuture lastWrite;

  TunnelRelay(String name, SessionSandbox accounts, ForwardingThreads threads) {
    this.name = name;
    this.accounts = accounts;
    this.threads = threads;
  }

  /** The channel is open: data from the tunnel may go out. */
  void channelOpened(ChannelEnd end) {
    channel.complete(end);
  }

  /** The channel will never open (refused, or the client went away): drop the tunnel. */
  void channelFailed(Throwable why) {
    channel.completeExceptionally(why);
    tunnel.thenAccept(Tunnel::close);
  }

  /** The tunnel is connected: queued client data may go in. */
  void tunnelConnected(Tunnel t) {
    if (!tunnel.complete(t) || channel.isCompletedExceptionally()) {
      t.close();
    }
  }

  /** The tunnel could not be connected. */
  void tunnelFailed(Throwable why) {
    tunnel.completeExceptionally(why);
  }

  /**
   * Data from the client (on a MINA I/O thread: never blocks). When nothing is queued, what the
   * socket takes at once is written here: handing each packet to a worker thread cost more than the
   * write itself (a wake-up per packet and two copies, a profile of {@code ssh -R} showed). The
   * rest is queued for a worker, which writes it in order, waiting as needed.
   */
  void fromClient(byte[] data, int offset, int length) {
    Tunnel t = tunnel.getNow(null);
    synchronized (toTunnel) {
      if (t != null && !draining && toTunnel.isEmpty()) {
        int n;
        try {
          n = t.tryWrite(data, offset, length);
        } catch (IOException e) {
          // Left to the worker, which sees the same failure and handles it.
          n = 0;
        }
        if (n > 0) {
          accounts.addBytesIn(n);
          releaseWindow(n);
          offset += n;
          length -= n;
        }
        if (length == 0) {
          return;
        }
      }
    }
    enqueue(Arrays.copyOfRange(data, offset, offset + length));
  }

  /** The client sent EOF: half-close the socket inside the sandbox. */
  void clientEof() {
    enqueue(EOF);
  }

  /**
   * The channel closed: close the tunnel once queued data is written. A peer inside the sandbox
   * that never reads could hold that write forever, so the tunnel is cut after a grace period.
   */
  void channelClosed() {
    enqueue(CLOSE);
    tunnel.thenAccept(
        t -> threads.timer().schedule(t::close, CLOSE_GRACE_SECONDS, TimeUnit.SECONDS));
  }

  private static final long CLOSE_GRACE_SECONDS = 10;

  private void enqueue(Object item) {
    synchronized (toTunnel) {
      toTunnel.add(item);
      if (draining) {
        return;
      }
      draining = true;
    }
    threads.workers().execute(this::drain);
  }

  /** Chunks queued back to back are written as one, up to this size: fewer gRPC messages. */
  private static final int COALESCE_BYTES = 64 * 1024;

  private Object next() {
    synchronized (toTunnel) {
      Object item = toTunnel.next();
      if (item == null) {
        draining = false;
      }
      return item;
    }
  }

  private void drain() {
    Tunnel t = awaitTunnel();
    boolean broken = t == null;
    for (Object item = next(); item != null; item = next()) {
      if (item instanceof byte[] chunk) {
        if (!broken) {
          try {
            t.write(chunk);
            accounts.addBytesIn(chunk.length);
          } catch (IOException e) {
            // The socket inside the sandbox is gone: drop what the client still sends (its
            // window keeps moving) until the tunnel's close ends the channel.
            log.debug("{}: write to the sandbox failed: {}", name, e.getMessage());
            broken = true;
          }
        }
        releaseWindow(chunk.length);
      } else if (item == EOF) {
        if (!broken) {
          t.shutdownOutput();
        }
      } else if (t != null) {
        t.close();
      }
    }
  }

  private Tunnel awaitTunnel() {
    try {
      return tunnel.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException e) {
      return null;
    }
  }

  private void releaseWindow(int n) {
    ChannelEnd end = channel.getNow(null);
    if (end != null) {
      InputWindow.reopen(end.getLocalWindow(), n);
    }
  }

  private ChannelEnd awaitChannel() {
    try {
      return channel.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException e) {
      return null;
    }
  }

  /** Waits until the previous chunk has left; false when it failed (the channel is closing). */
  private boolean awaitLastWrite() {
    IoWriteFuture previous = lastWrite;
    if (previous == null) {
      return true;
    }
    try {
      previous.await();
    } catch (IOException e) {
      return false;
    }
    return previous.isWritten();
  }

  @Override
  public void onData(byte[] data) {
    send(data, data.length);
  }

  /** Returns once what was sent of the chunk has left, so the tunnel may reuse the buffer. */
  @Override
  public void onLentData(byte[] buffer, int length) {
    send(buffer, length);
    awaitLastWrite();
  }

  private void send(byte[] data, int length) {
    ChannelEnd end = awaitChannel();
    if (end == null || !awaitLastWrite()) {
      return;
    }
    try {
      ChannelAsyncOutputStream out = end.toClient();
      // One packet's worth at a time, each a view of the chunk: given the whole chunk (up to
      // 256 KiB from a handed-off socket), the channel copied all of it before cutting its first
      // packet, one more copy and allocation of every byte.
      int packet = OutputPackets.maxSize(out.getChannel());
      for (int offset = 0; offset < length; offset += packet) {
        if (offset > 0 && !awaitLastWrite()) {
          return;
        }
        int n = Math.min(packet, length - offset);
        lastWrite = out.writeBuffer(new ByteArrayBuffer(data, offset, n));
        accounts.addBytesOut(n);
      }
    } catch (IOException | RuntimeException e) {
      log.debug("{}: write to the client failed: {}", name, e.getMessage());
    }
  }

  @Override
  public void onEof() {
    ChannelEnd end = awaitChannel();
    if (end == null || !awaitLastWrite()) {
      return;
    }
    try {
      end.sendEofToClient();
    } catch (IOException e) {
      log.debug("{}: cannot send EOF: {}", name, e.getMessage());
    }
  }

  @Override
  public void onClose(Throwable error) {
    if (error != null) {
      log.debug("{}: tunnel ended: {}", name, error.toString());
    }
    ChannelEnd end = channel.getNow(null);
    if (end == null && !channel.isDone()) {
      end = awaitChannel();
    }
    if (end != null) {
      awaitLastWrite();
      end.closeGracefully();
    }
  }
}
