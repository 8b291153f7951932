package dev.sandboxssh.sdk;

import java.io.IOException;
import java.net.SocketAddress;

/**
 * A connected two-way byte stream to a socket inside a sandbox; what arrives goes to its {@link
 * TunnelHandler}. Thread-safe.
 */
public interface Tunnel extends AutoCloseable {
  /**
   * Sends bytes to the peer, blocking while flow control says the agent or the peer is behind.
   *
   * @throws IOException when the tunnel is closed or output was shut down
   */
  void write(byte[] data, int offset, int length) throws IOException;

  /**
   * Sends what the peer's socket takes at once, never waiting: the number of bytes sent, 0 when it
   * would have to wait or when this tunnel cannot tell (then {@link #write(byte[], int, int)} is
   * the way). Lets a caller on a thread that must not block skip a hand-off to another thread.
   *
   * @throws IOException when the tunnel is closed or output was shut down
   */
  default int tryWrite(byte[] data, int offset, int length) throws IOException {
    return 0;
  }

  /** Sends all of {@code data}, as {@link #write(byte[], int, int)}. */
  default void write(byte[] data) throws IOException {
    write(data, 0, data.length);
  }

  /** Half-closes: the peer reads end-of-file; data from the peer keeps arriving. */
  void shutdownOutput();

  /**
   * Closes the tunnel: the agent writes what was sent before, then closes the socket. Data still
   * arriving is dropped; the handler's {@code onClose} follows.
   */
  @Override
  void close();

  /** The sandbox-side local address of the socket (TCP address, or unix path). */
  SocketAddress localAddress();

  /** The address of the peer inside the sandbox (TCP address, or unix path, maybe empty). */
  SocketAddress remoteAddress();
}
