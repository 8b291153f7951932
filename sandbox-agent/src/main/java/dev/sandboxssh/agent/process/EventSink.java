package dev.sandboxssh.agent.process;

import dev.sandboxssh.api.v1.ProcessEvent;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;

/**
 * One caller's stream of a process's events, written only as fast as the caller reads: {@link
 * #send} blocks while gRPC flow control says the caller is not ready, so a paused caller pauses the
 * thread reading the process, and the process blocks on its full pipe instead of the agent
 * buffering its output.
 */
final class EventSink {
  /** Re-checks readiness at least this often, in case a ready signal raced with the wait. */
  private static final Duration READY_POLL = Duration.ofMillis(200);

  private final ServerCallStreamObserver<ProcessEvent> call;
  private final Object lock = new Object();
  private volatile boolean cancelled;
  private boolean completed; // guarded by lock

  /**
   * How much may wait in gRPC's outbound buffer before the sink counts as not ready: a few chunks,
   * so the reader does not stop at every chunk, and still a small bound per stream.
   */
  private static final int READY_THRESHOLD = 2 * ManagedProcess.CHUNK;

  /** Wraps {@code call}; must be created before the service method returns. */
  EventSink(ServerCallStreamObserver<ProcessEvent> call, Runnable onCancel) {
    this.call = call;
    call.setOnReadyThreshold(READY_THRESHOLD);
    call.setOnReadyHandler(this::wake);
    call.setOnCancelHandler(
        () -> {
          cancelled = true;
          wake();
          onCancel.run();
        });
  }

  /** Whether the caller went away. */
  boolean isCancelled() {
    return cancelled;
  }

  /** Sends one event once the caller is ready; false when the caller went away meanwhile. */
  boolean send(ProcessEvent event) {
    synchronized (lock) {
      while (!cancelled && !completed && !call.isReady()) {
        try {
          lock.wait(READY_POLL.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      if (cancelled || completed) {
        return false;
      }
      try {
        call.onNext(event);
        return true;
      } catch (RuntimeException e) {
        // The call was cancelled between the check and the write.
        cancelled = true;
        return false;
      }
    }
  }

  /** Ends the stream normally. */
  void complete() {
    synchronized (lock) {
      if (completed || cancelled) {
        return;
      }
      completed = true;
      try {
        call.onCompleted();
      } catch (RuntimeException e) {
        cancelled = true;
      }
    }
  }

  private void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }
}
