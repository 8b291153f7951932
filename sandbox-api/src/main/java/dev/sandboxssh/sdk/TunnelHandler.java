package dev.sandboxssh.sdk;

import java.util.Arrays;

/**
 * Receives what arrives on a {@link Tunnel}. Callbacks of one tunnel run one at a time, in order,
 * on an SDK thread (never a gRPC transport thread); a callback may block, which holds back only its
 * own tunnel: the next data is requested from the agent once {@link #onData} returns.
 */
public interface TunnelHandler {
  /** Bytes from the peer inside the sandbox; the array is the handler's to keep. */
  void onData(byte[] data);

  /**
   * Bytes from the peer in the first {@code length} of {@code buffer}, which the tunnel reuses once
   * this returns: a handler that is done with them by then spares the tunnel an array per chunk.
   * Tunnels that read into a buffer of their own call this instead of {@link #onData}; the default
   * copies the bytes out for it.
   */
  default void onLentData(byte[] buffer, int length) {
    onData(Arrays.copyOf(buffer, length));
  }

  /** The peer half-closed: no more data will come, though this side may still write. */
  default void onEof() {}

  /**
   * The tunnel ended, last of all callbacks: null after an orderly end (both sides closed, or
   * {@link Tunnel#close}), else why: an {@link java.io.IOException} when the socket failed, a
   * {@link SandboxUnavailableException} when the agent went away.
   */
  default void onClose(Throwable error) {}
}
