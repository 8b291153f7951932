package dev.sandboxssh.sdk.envd;

import io.grpc.stub.ServerCallStreamObserver;

/**
 * Flow control for a server stream fed from a pump thread: the pump waits until the caller can take
 * the next message, so that a slow caller slows the envd stream instead of filling memory.
 */
final class ReadyGate {
  private final ServerCallStreamObserver<?> call;
  private final Object lock = new Object();
  private volatile boolean cancelled;

  /**
   * Watches {@code call}, running {@code onCancel} once the caller cancels; must be made inside the
   * service method, the only place gRPC accepts the handlers.
   */
  ReadyGate(ServerCallStreamObserver<?> call, Runnable onCancel) {
    this.call = call;
    call.setOnReadyHandler(this::wake);
    call.setOnCancelHandler(
        () -> {
          cancelled = true;
          wake();
          onCancel.run();
        });
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  /** Whether the caller cancelled the call. */
  boolean cancelled() {
    return cancelled;
  }

  /** Waits until the caller is ready for a message; false when it cancelled (or on interrupt). */
  boolean awaitReady() {
    synchronized (lock) {
      while (!cancelled && !call.isReady()) {
        try {
          lock.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return !cancelled;
  }
}
