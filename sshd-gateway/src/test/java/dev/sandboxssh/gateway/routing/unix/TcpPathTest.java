package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import org.junit.jupiter.api.Test;

class TcpPathTest {
  private static final int TCP_ESTABLISHED = 1;

  @Test
  void aLoopbackConnectionHasItsStatePathMtuAndAShortRoundTrip() throws IOException {
    try (ServerSocketChannel server = ServerSocketChannel.open()) {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
          SocketChannel accepted = server.accept()) {
        // A few round trips, each acknowledged, so that the kernel has timed some.
        ByteBuffer one = ByteBuffer.allocate(1);
        for (int i = 0; i < 10; i++) {
          client.write(one.clear());
          accepted.read(one.clear());
          accepted.write(one.flip());
          client.read(one.clear());
        }

        TcpPath.Info info = TcpPath.info(accepted);
        assertThat(info).as("TCP_INFO (is sun.nio.ch opened to the tests?)").isNotNull();
        // The fields around the one used, read at their offsets in struct tcp_info.
        assertThat(info.state()).isEqualTo(TCP_ESTABLISHED);
        assertThat(info.pmtu()).isBetween(1280L, 65536L);
        assertThat(info.minRttMicros()).isBetween(1L, 100_000L);
        assertThat(TcpPath.minRttMicros(accepted)).hasValue(info.minRttMicros());
      }
    }
  }

  @Test
  void aClosedChannelHasNoPath() throws IOException {
    try (ServerSocketChannel server = ServerSocketChannel.open()) {
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      SocketChannel client = SocketChannel.open(server.getLocalAddress());
      client.close();
      assertThat(TcpPath.minRttMicros(client)).isEmpty();
    }
  }
}
