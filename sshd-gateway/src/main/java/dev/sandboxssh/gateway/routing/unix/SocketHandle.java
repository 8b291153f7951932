package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A handle (an O_PATH descriptor) on a unix socket file in a local sandbox's run dir, opened
 * without following links and checked to be a socket. A connect() to {@link #path()} reaches that
 * very socket:
 *
 * <ul>
 *   <li>whatever the length of its real path, where sun_path takes 107 bytes: a long data dir, or a
 *       long sandbox id, would otherwise leave the agent unreachable;
 *   <li>whatever the sandbox puts at that name later. Threat: the socket's directory belongs to the
 *       sandbox, which could swap the socket for a link to some other socket on the host, and the
 *       gateway, as root, would connect there.
 * </ul>
 *
 * A connection made through it stays up once the handle is closed; a client that reconnects on its
 * own (gRPC does) needs the handle open as long as the client.
 */
public final class SocketHandle implements Closeable {
  private final int fd;
  private boolean closed;

  private SocketHandle(int fd) {
    this.fd = fd;
  }

  /** Opens the socket file at {@code socket}; fails if it is missing, a link, or no socket. */
  public static SocketHandle open(Path socket) throws IOException {
    int fd;
    try {
      fd = Posix.C.open(socket.toString(), Posix.O_PATH | Posix.O_NOFOLLOW | Posix.O_CLOEXEC);
    } catch (LastErrorException e) {
      throw new IOException("cannot open " + socket + ": errno " + e.getErrorCode());
    }
    SocketHandle handle = new SocketHandle(fd);
    try {
      if (!Files.readAttributes(Path.of(handle.path()), BasicFileAttributes.class).isOther()) {
        throw new IOException(socket + " is not a socket");
      }
    } catch (IOException | RuntimeException e) {
      handle.close();
      throw e;
    }
    return handle;
  }

  /** A path to connect to, short whatever the socket's own: {@code /proc/self/fd/N}. */
  public String path() {
    return "/proc/self/fd/" + fd;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      Posix.C.close(fd);
    }
  }
}
