package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A process's stdio held by the gateway itself. Reads block until data, end of file, or {@link
 * #close}; writes block while the process does not read.
 */
public interface ProcessStdio extends AutoCloseable {

  /** Input to the process (for a terminal, its keystrokes). */
  OutputStream stdin();

  /**
   * Writes to {@link #stdin} what it takes now, without waiting: safe on a thread that must never
   * block. Returns the count written, 0 when stdin is full.
   *
   * @throws IOException when stdin is closed
   */
  int writeNow(byte[] b, int off, int len) throws IOException;

  /** The process's output (for a terminal, everything it shows). */
  IdleInputStream stdout();

  /** The process's standard error, or null for a terminal (whose stderr is the terminal). */
  IdleInputStream stderr();

  /** Ends blocked reads and writes and closes every descriptor; idempotent. */
  @Override
  void close();
}
