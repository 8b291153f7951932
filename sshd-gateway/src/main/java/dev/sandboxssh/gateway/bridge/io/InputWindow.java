package dev.sandboxssh.gateway.bridge.io;

import java.io.IOException;
import org.apache.sshd.common.channel.LocalWindow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The client's window of a channel whose input the gateway writes on itself. */
public final class InputWindow {
  private static final Logger log = LoggerFactory.getLogger(InputWindow.class);

  private InputWindow() {}

  /** Reopens {@code window} by {@code n} bytes that reached their destination, unless closed. */
  public static void reopen(LocalWindow window, long n) {
    try {
      if (window.isOpen()) {
        window.release(n);
      }
    } catch (IOException e) {
      log.debug("cannot re-open the window: {}", e.getMessage());
    }
  }
}
