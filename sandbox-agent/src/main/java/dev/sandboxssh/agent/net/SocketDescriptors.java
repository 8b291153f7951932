package dev.sandboxssh.agent.net;

import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;

/**
 * The descriptor number behind a JDK socket channel, for handing the socket to a caller on the
 * agent's host. The JDK keeps it in {@code sun.nio.ch.SelChImpl#getFDVal}, which the agent's JVM
 * exports to it ({@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}); without that export there
 * is no number, and sockets are relayed as before.
 */
final class SocketDescriptors {
  private static final Method GET_FD_VAL = lookup();

  private SocketDescriptors() {}

  private static Method lookup() {
    try {
      Method m = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
      return SocketDescriptors.class.getModule().canRead(m.getDeclaringClass().getModule())
              && m.getDeclaringClass()
                  .getModule()
                  .isExported("sun.nio.ch", SocketDescriptors.class.getModule())
          ? m
          : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** Whether descriptor numbers can be had in this JVM. */
  static boolean available() {
    return GET_FD_VAL != null;
  }

  /** The channel's descriptor number, or -1 when this JVM does not show it. */
  static int of(SocketChannel channel) {
    if (GET_FD_VAL == null) {
      return -1;
    }
    try {
      return (int) GET_FD_VAL.invoke(channel);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return -1;
    }
  }
}
