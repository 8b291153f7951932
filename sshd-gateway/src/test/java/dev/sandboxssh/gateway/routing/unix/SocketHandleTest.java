package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SocketHandleTest {
  @TempDir Path dir;

  @Test
  void connectsToASocketWhosePathIsTooLongForSunPath() throws IOException {
    Path deep = Files.createDirectories(dir.resolve("d".repeat(120)));
    Path socket = deep.resolve("agent.sock");
    assertThat(socket.toString().length()).isGreaterThan(107);
    try (ServerSocketChannel server = bindThroughDirectory(deep, "agent.sock");
        SocketHandle handle = SocketHandle.open(socket);
        SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(handle.path()));
        SocketChannel accepted = server.accept()) {
      client.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer got = ByteBuffer.allocate(5);
      while (got.hasRemaining() && accepted.read(got) >= 0) {}
      assertThat(new String(got.array(), StandardCharsets.US_ASCII)).isEqualTo("hello");
    }
  }

  @Test
  void refusesALinkToASocket() throws IOException {
    Path real = dir.resolve("real.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(real));
      Path link = Files.createSymbolicLink(dir.resolve("agent.sock"), real);
      // O_PATH | O_NOFOLLOW opens the link itself, which is no socket.
      assertThatThrownBy(() -> SocketHandle.open(link))
          .isInstanceOf(IOException.class)
          .hasMessage(link + " is not a socket");
    }
  }

  @Test
  void refusesAFileThatIsNoSocket() throws IOException {
    Path file = Files.writeString(dir.resolve("agent.sock"), "not a socket");
    assertThatThrownBy(() -> SocketHandle.open(file))
        .isInstanceOf(IOException.class)
        .hasMessage(file + " is not a socket");
  }

  @Test
  void refusesAMissingSocket() {
    assertThatThrownBy(() -> SocketHandle.open(dir.resolve("none.sock")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("errno 2");
  }

  /** Binds {@code name} in {@code parent} by a short path: the bind itself has sun_path's limit. */
  private static ServerSocketChannel bindThroughDirectory(Path parent, String name)
      throws IOException {
    int fd = Posix.C.open(parent.toString(), Posix.O_PATH | Posix.O_CLOEXEC);
    try {
      ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of("/proc/self/fd/" + fd + "/" + name));
      return server;
    } finally {
      Posix.C.close(fd);
    }
  }
}
