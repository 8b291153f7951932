package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import dev.sandboxssh.gateway.routing.DescriptorSocket;
import dev.sandboxssh.gateway.routing.ProcessStdio;
import dev.sandboxssh.sdk.FileTaker;
import dev.sandboxssh.sdk.OpenFile;
import dev.sandboxssh.sdk.SocketTaker;
import dev.sandboxssh.sdk.Tunnel;
import dev.sandboxssh.sdk.TunnelHandler;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;

/**
 * A local agent's descriptor socket ({@code fds.sock} beside its gRPC socket): the gateway writes a
 * hand-off name and receives the process's descriptors, one SCM_RIGHTS message each.
 */
public final class UnixDescriptorSocket implements DescriptorSocket {
  /** How long an agent may take to answer before the hand-off counts as failed. */
  private static final int ANSWER_SECONDS = 10;

  // struct msghdr, iovec and cmsghdr on 64-bit Linux.
  private static final int MSGHDR_BYTES = 56;
  private static final int MSG_IOV = 16;
  private static final int MSG_IOVLEN = 24;
  private static final int MSG_CONTROL = 32;
  private static final int MSG_CONTROLLEN = 40;
  private static final int MSG_FLAGS = 48;
  private static final int CMSG_HEADER = 16;
  private static final int CMSG_SPACE_ONE_FD = 24;
  private static final int SUN_PATH = 108;

  /** The kind of {@link #takeFile}: a regular file, whatever its path. */
  private static final String FILE = "regular file";

  private final Path path;

  /** The descriptor socket at {@code path}. */
  public UnixDescriptorSocket(Path path) {
    this.path = path;
  }

  @Override
  public ProcessStdio take(String name, boolean terminal) throws IOException {
    int[] fds = receive(name, terminal ? 1 : 3, terminal ? "ptmx" : "pipe:");
    return new PolledStdio(fds, terminal);
  }

  /**
   * Takes a connected socket the agent keeps under {@code name} (a dialled or accepted connection)
   * and relays it to {@code handler} from this process; a {@link SocketTaker}.
   */
  public Tunnel takeSocket(
      String name, SocketAddress local, SocketAddress remote, TunnelHandler handler)
      throws IOException {
    int[] fds = receive(name, 1, "socket:");
    return SocketTunnel.start(fds[0], handler, local, remote);
  }

  /**
   * Takes an open file the agent keeps under {@code name} (see {@code FilesystemService.Open}); a
   * {@link FileTaker}.
   */
  public OpenFile takeFile(String name, String path) throws IOException {
    return new FdFile(receive(name, 1, FILE)[0], path);
  }

  /** Receives {@code count} descriptors of the kind {@code kind} names (see {@link #checkKind}). */
  private int[] receive(String name, int count, String kind) throws IOException {
    if (Native.POINTER_SIZE != 8) {
      throw new IOException("descriptor hand-off needs 64-bit Linux");
    }
    int[] fds = new int[count];
    Arrays.fill(fds, -1);
    int socket = -1;
    // Opened without following links and checked: see SocketHandle for the threat.
    try (SocketHandle target = SocketHandle.open(path)) {
      socket = Posix.C.socket(Posix.AF_UNIX, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0);
      try (Memory timeout = new Memory(16)) {
        timeout.setLong(0, ANSWER_SECONDS);
        timeout.setLong(8, 0);
        Posix.C.setsockopt(socket, Posix.SOL_SOCKET, Posix.SO_RCVTIMEO, timeout, 16);
      }
      try (Memory address = new Memory(2 + SUN_PATH)) {
        address.clear();
        address.setShort(0, (short) Posix.AF_UNIX);
        byte[] bytes = target.path().getBytes(StandardCharsets.UTF_8);
        address.write(2, bytes, 0, bytes.length);
        Posix.C.connect(socket, address, 2 + bytes.length + 1);
      }
      writeLine(socket, name);
      for (int i = 0; i < fds.length; i++) {
        fds[i] = receiveOne(socket);
      }
      for (int fd : fds) {
        checkKind(fd, kind);
      }
      int[] taken = fds;
      fds = new int[0];
      return taken;
    } catch (LastErrorException e) {
      throw new IOException("cannot take descriptors from " + path + ": errno " + e.getErrorCode());
    } finally {
      for (int fd : fds) {
        if (fd >= 0) {
          Posix.C.close(fd);
        }
      }
      if (socket >= 0) {
        Posix.C.close(socket);
      }
    }
  }

  private static void writeLine(int socket, String name) {
    byte[] line = (name + "\n").getBytes(StandardCharsets.US_ASCII);
    try (Memory buffer = new Memory(line.length)) {
      buffer.write(0, line, 0, line.length);
      for (int done = 0; done < line.length; ) {
        done +=
            Posix.C.write(socket, buffer.share(done), new NativeLong(line.length - done))
                .intValue();
      }
    }
  }

  /** Receives one message carrying exactly one descriptor. */
  private static int receiveOne(int socket) throws IOException {
    try (Memory data = new Memory(1);
        Memory iov = new Memory(16);
        Memory control = new Memory(CMSG_SPACE_ONE_FD);
        Memory message = new Memory(MSGHDR_BYTES)) {
      iov.setPointer(0, data);
      iov.setLong(8, 1);
      control.clear();
      message.clear();
      message.setPointer(MSG_IOV, iov);
      message.setLong(MSG_IOVLEN, 1);
      message.setPointer(MSG_CONTROL, control);
      message.setLong(MSG_CONTROLLEN, CMSG_SPACE_ONE_FD);
      long n;
      while (true) {
        try {
          n = Posix.C.recvmsg(socket, message, Posix.MSG_CMSG_CLOEXEC).longValue();
          break;
        } catch (LastErrorException e) {
          if (e.getErrorCode() == Posix.EAGAIN) {
            throw new IOException(
                "the agent did not hand over the stdio in " + ANSWER_SECONDS + " s");
          }
          if (e.getErrorCode() != Posix.EINTR) {
            throw e;
          }
        }
      }
      long controlLength = message.getLong(MSG_CONTROLLEN);
      boolean carriesOne =
          controlLength >= CMSG_HEADER + 4
              && control.getLong(0) == CMSG_HEADER + 4
              && control.getInt(8) == Posix.SOL_SOCKET
              && control.getInt(12) == Posix.SCM_RIGHTS;
      int fd = carriesOne ? control.getInt(CMSG_HEADER) : -1;
      if (n <= 0 || !carriesOne || (message.getInt(MSG_FLAGS) & Posix.MSG_CTRUNC) != 0) {
        if (fd >= 0) {
          Posix.C.close(fd);
        }
        throw new IOException(
            n <= 0
                ? "the agent handed over nothing (unknown or expired name)"
                : "the agent's answer held no single descriptor");
      }
      return fd;
    }
  }

  /**
   * Deny by default: the gateway reads and writes what it receives, so it takes only what was asked
   * for: pipes, a terminal's master, a socket, or a regular file.
   */
  private static void checkKind(int fd, String kind) throws IOException {
    Path link = Path.of("/proc/self/fd/" + fd);
    String target = Files.readSymbolicLink(link).toString();
    boolean ok =
        kind.equals(FILE)
            ? Files.readAttributes(link, BasicFileAttributes.class).isRegularFile()
            : kind.endsWith(":") ? target.startsWith(kind) : target.endsWith(kind);
    if (!ok) {
      throw new IOException("the agent handed over " + target + ", not " + kind);
    }
  }
}
