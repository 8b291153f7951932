package dev.sandboxssh.agent.process;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;

/**
 * The descriptor number behind a JDK channel, for handing a socket or an open file to a caller on
 * the agent's host. The JDK keeps it inside {@code sun.nio.ch}, which the agent's JVM opens to it
 * ({@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED}); without that there is no number, and the
 * agent keeps relaying the bytes itself.
 */
public final class JdkDescriptors {
  private static final Method SOCKET_FD = socketFd();
  private static final Field FILE_FD = fileFd();
  private static final Method FD_VAL = fdVal();

  private JdkDescriptors() {}

  private static boolean opened() {
    return Object.class.getModule().isOpen("sun.nio.ch", JdkDescriptors.class.getModule());
  }

  private static Method socketFd() {
    try {
      return opened() ? Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal") : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static Field fileFd() {
    try {
      if (!opened()) {
        return null;
      }
      Field f = Class.forName("sun.nio.ch.FileChannelImpl").getDeclaredField("fd");
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static Method fdVal() {
    try {
      return opened()
          ? Class.forName("sun.nio.ch.IOUtil").getMethod("fdVal", FileDescriptor.class)
          : null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** The socket channel's descriptor number, or -1 when this JVM does not show it. */
  public static int of(SocketChannel channel) {
    if (SOCKET_FD == null) {
      return -1;
    }
    try {
      return (int) SOCKET_FD.invoke(channel);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return -1;
    }
  }

  /** The file channel's descriptor number, or -1 when this JVM does not show it. */
  public static int of(FileChannel channel) {
    if (FILE_FD == null || FD_VAL == null) {
      return -1;
    }
    try {
      return (int) FD_VAL.invoke(null, (FileDescriptor) FILE_FD.get(channel));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return -1;
    }
  }
}
