package dev.sandboxssh.gateway.bridge;

import java.util.Map;

/**
 * A client's {@code pty-req} (RFC 4254 section 6.2), sizes already clamped to the configured
 * limits.
 *
 * @param modes terminal modes by POSIX name ("VERASE", "ECHO"...) as RFC 4254 section 8 encodes
 *     them
 */
public record PtyRequest(String term, int cols, int rows, Map<String, Integer> modes) {
  /** The size a client gets when it asks for 0 (RFC 4254: "zero means unspecified"). */
  static final int DEFAULT_COLS = 80;

  static final int DEFAULT_ROWS = 24;

  /** Copies the modes. */
  public PtyRequest {
    modes = Map.copyOf(modes);
  }

  /** {@code requested} bounded to 1..{@code max}; 0 or less means {@code fallback}. */
  static int clamp(int requested, int max, int fallback) {
    if (requested <= 0) {
      return Math.min(fallback, max);
    }
    return Math.min(requested, max);
  }
}
