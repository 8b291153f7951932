package dev.sandboxssh.gateway.routing;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * A process's stdio held by the gateway itself. Reads block until data, end of file, or {@link
 * #close}; writes block while the process does not read.
 */
public interface ProcessStdio extends AutoCloseable {

  /** Input to the process (for a terminal, its keystrokes). */
  OutputStream stdin();

  /** The process's output (for a terminal, everything it shows). */
  InputStream stdout();

  /** The process's standard error, or null for a terminal (whose stderr is the terminal). */
  InputStream stderr();

  /** Ends blocked reads and writes and closes every descriptor; idempotent. */
  @Override
  void close();
}
