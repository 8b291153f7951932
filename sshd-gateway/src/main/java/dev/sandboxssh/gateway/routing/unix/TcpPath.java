package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.Memory;
import com.sun.jna.ptr.IntByReference;
import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;
import java.util.OptionalLong;

/**
 * What the kernel has measured of a TCP connection's path: {@code getsockopt(TCP_INFO)} (Linux).
 * The descriptor number of a JDK channel sits in {@code sun.nio.ch}, which the gateway's jar opens
 * to it ({@code Add-Opens} in its manifest); without that nothing is measured.
 */
public final class TcpPath {
  private static final int IPPROTO_TCP = 6;
  private static final int TCP_INFO = 11;
  // struct tcp_info (linux/tcp.h): fields are only ever appended, and tcpi_min_rtt (Linux 4.6) is
  // the last one read here; the kernel fills what it has and says how much.
  private static final int INFO_SIZE = 160;
  private static final int STATE = 0;
  private static final int PMTU = 60;
  private static final int MIN_RTT = 148;

  private static final Method FD_VAL = fdVal();

  /** tcpi_state, tcpi_pmtu and tcpi_min_rtt (microseconds) of one connection. */
  record Info(int state, long pmtu, long minRttMicros) {}

  private TcpPath() {}

  private static Method fdVal() {
    try {
      if (!Object.class.getModule().isOpen("sun.nio.ch", TcpPath.class.getModule())) {
        return null;
      }
      return Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The lowest round-trip time the kernel has seen on {@code channel}, in microseconds: the path's
   * own delay, without the time a peer took to answer or a delayed ACK; empty when unknown.
   */
  public static OptionalLong minRttMicros(SocketChannel channel) {
    Info info = info(channel);
    return info == null || info.minRttMicros() <= 0
        ? OptionalLong.empty()
        : OptionalLong.of(info.minRttMicros());
  }

  /** The connection's TCP_INFO, or null when this JVM or kernel does not give it. */
  static Info info(SocketChannel channel) {
    if (FD_VAL == null || !channel.isOpen()) {
      return null;
    }
    try {
      int fd = (int) FD_VAL.invoke(channel);
      Memory buffer = new Memory(INFO_SIZE);
      buffer.clear();
      IntByReference length = new IntByReference(INFO_SIZE);
      Posix.C.getsockopt(fd, IPPROTO_TCP, TCP_INFO, buffer, length);
      if (length.getValue() < MIN_RTT + 4) {
        return null;
      }
      return new Info(
          Byte.toUnsignedInt(buffer.getByte(STATE)),
          Integer.toUnsignedLong(buffer.getInt(PMTU)),
          Integer.toUnsignedLong(buffer.getInt(MIN_RTT)));
    } catch (ReflectiveOperationException | RuntimeException e) {
      // LastErrorException among them: a socket that is not TCP, or a kernel without TCP_INFO.
      return null;
    }
  }
}
