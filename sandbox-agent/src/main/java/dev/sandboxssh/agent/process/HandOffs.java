package dev.sandboxssh.agent.process;

import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Descriptors of processes started with {@code hand_off}, each kept under a one-time random name
 * until the caller takes them over the descriptor socket, or closed when nobody does in time.
 *
 * <p>Threat: the name is the only thing that selects a process's stdio on that socket, so it is 128
 * random bits, valid once, and only the authenticated Start caller ever sees it.
 */
public final class HandOffs {
  /** How long descriptors wait for their caller. */
  static final Duration UNCLAIMED = Duration.ofSeconds(30);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Map<String, int[]> waiting = new ConcurrentHashMap<>();
  private final ScheduledExecutorService scheduler;

  HandOffs(ScheduledExecutorService scheduler) {
    this.scheduler = scheduler;
  }

  /** Keeps a copy of {@code fd} (a connected socket, say) under a new name, which it returns. */
  public String offerCopyOf(int fd) throws IOException {
    return offer(NativeProcess.copies(fd));
  }

  /** Keeps {@code descriptors} under a new name, which it returns. */
  String offer(int[] descriptors) {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    String name = HexFormat.of().formatHex(bytes);
    waiting.put(name, descriptors);
    scheduler.schedule(
        () -> {
          int[] left = waiting.remove(name);
          if (left != null) {
            NativeProcess.release(left);
          }
        },
        UNCLAIMED.toMillis(),
        TimeUnit.MILLISECONDS);
    return name;
  }

  /**
   * Takes the descriptors kept under {@code name}, once; null when the name is unknown, taken or
   * expired. The caller closes them with {@link #release} once sent.
   */
  public int[] take(String name) {
    return waiting.remove(name);
  }

  /** Closes descriptors that {@link #take} returned. */
  public static void release(int[] descriptors) {
    NativeProcess.release(descriptors);
  }

  /** Closes every descriptor still waiting; the agent is stopping. */
  void closeAll() {
    for (String name : waiting.keySet()) {
      int[] left = waiting.remove(name);
      if (left != null) {
        NativeProcess.release(left);
      }
    }
  }
}
