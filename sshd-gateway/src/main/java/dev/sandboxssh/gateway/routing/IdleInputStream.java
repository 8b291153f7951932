package dev.sandboxssh.gateway.routing;

import java.io.IOException;
import java.io.InputStream;

/**
 * A process's output whose reader can give up its thread while nothing comes: an idle shell or a
 * quiet command then costs the gateway no thread, only an entry in one shared watch.
 */
public abstract class IdleInputStream extends InputStream {

  /**
   * As {@link #read(byte[], int, int)}, but waits at most {@code waitMillis} for the first byte; 0
   * when nothing came in that time, -1 at the end of the stream or once it is closed.
   *
   * @throws IOException when the read failed
   */
  public abstract int read(byte[] b, int off, int len, int waitMillis) throws IOException;

  /**
   * Runs {@code task} once there is something to read, the stream ended, or it was closed (on the
   * watching thread or the closing one, so the task must hand its work to another); until then this
   * stream holds no buffer and no thread.
   */
  public abstract void whenReadable(Runnable task);
}
