package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.sandboxssh.sdk.Tunnel;
import dev.sandboxssh.sdk.TunnelHandler;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A connected socket inside a sandbox whose descriptor the agent handed over, relayed by the
 * gateway itself: the same contract as the agent's tunnels (see {@link Tunnel}), without the hop
 * through the agent. One thread per tunnel reads the socket and runs the handler's callbacks in
 * order; writers write from their own threads, waiting while the socket is full.
 */
final class SocketTunnel implements Tunnel {
  /**
   * Most bytes per callback: what is in the socket is taken whole, up to this, since per-chunk
   * costs (a callback, an SSH write and its flush), not bytes, bound throughput.
   */
  private static final int CHUNK = 256 * 1024;

  private static final AtomicInteger COUNT = new AtomicInteger();

  private final Descriptor socket;
  private final Waker waker;
  // The reader thread's only: see Waker.topUp.
  private final Waker.Streaming streaming = new Waker.Streaming();
  private final TunnelHandler handler;
  private final SocketAddress local;
  private final SocketAddress remote;
  private final Object lock = new Object();
  private final Memory writePollSet = Waker.pollSet();
  private Memory writeStaging; // guarded by lock
  // Guarded by lock.
  private boolean outputShut;
  private boolean closing;

  private SocketTunnel(
      int fd, Waker waker, TunnelHandler handler, SocketAddress local, SocketAddress remote) {
    this.socket = new Descriptor(fd);
    this.waker = waker;
    this.handler = handler;
    this.local = local;
    this.remote = remote;
  }

  /** Takes ownership of the socket {@code fd} and starts delivering to {@code handler}. */
  static SocketTunnel start(
      int fd, TunnelHandler handler, SocketAddress local, SocketAddress remote) throws IOException {
    Waker waker;
    try {
      waker = new Waker();
      int flags = Posix.C.fcntl(fd, Posix.F_GETFL, 0);
      Posix.C.fcntl(fd, Posix.F_SETFL, flags | Posix.O_NONBLOCK);
    } catch (IOException | LastErrorException e) {
      Posix.C.close(fd);
      throw new IOException("cannot set up the handed-over socket: " + e.getMessage());
    }
    SocketTunnel tunnel = new SocketTunnel(fd, waker, handler, local, remote);
    Thread reader = new Thread(tunnel::readLoop, "socket-tunnel-" + COUNT.incrementAndGet());
    reader.setDaemon(true);
    reader.start();
    return tunnel;
  }

  private void readLoop() {
    Throwable failure = null;
    Memory staging = new Memory(CHUNK);
    Memory pollSet = Waker.pollSet();
    // Lent to the handler for each chunk: a new array per chunk was zeroed before the bytes were
    // copied in, a twelfth of a -L download's gateway CPU.
    byte[] lent = new byte[CHUNK];
    try {
      while (true) {
        int n = socket.acquire() ? readOnce(staging, pollSet) : -1;
        if (n < 0) {
          break;
        }
        staging.read(0, lent, 0, n);
        handler.onLentData(lent, n);
      }
      if (!isClosing()) {
        handler.onEof();
        // The tunnel ends once this side is done writing too, as the agent's tunnels do.
        synchronized (lock) {
          while (!outputShut && !closing) {
            lock.wait();
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      failure = e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      synchronized (lock) {
        closing = true;
      }
      waker.wakeAll();
      socket.close();
      waker.close();
      handler.onClose(failure);
    }
  }

  private int readOnce(Memory staging, Memory pollSet) throws IOException {
    try {
      int n = waker.readAvailable(socket, staging, CHUNK, pollSet);
      // A streaming peer's short chunk waits once for more, as a process's pipe does.
      return streaming.topUp(waker, socket, staging, n, CHUNK);
    } finally {
      socket.release();
    }
  }

  private boolean isClosing() {
    synchronized (lock) {
      return closing;
    }
  }

  @Override
  public void write(byte[] data, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, data.length);
    writing(
        staging -> {
          waker.writeAll(socket, staging, data, offset, length, writePollSet);
          return length;
        });
  }

  @Override
  public int tryWrite(byte[] data, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, data.length);
    return writing(staging -> waker.writeSome(socket, staging, data, offset, length));
  }

  /** A write through the staging memory, which returns how many bytes it wrote. */
  private interface StagedWrite {
    int run(Memory staging) throws IOException;
  }

  /** Runs {@code write} with the socket held open and the writers' lock taken. */
  private int writing(StagedWrite write) throws IOException {
    synchronized (lock) {
      if (closing || outputShut || !socket.acquire()) {
        throw new IOException("tunnel to " + remote + " is closed for writing");
      }
      try {
        if (writeStaging == null) {
          writeStaging = new Memory(CHUNK);
        }
        return write.run(writeStaging);
      } catch (IOException e) {
        throw new IOException("tunnel to " + remote + ": " + e.getMessage(), e);
      } finally {
        socket.release();
      }
    }
  }

  @Override
  public void shutdownOutput() {
    synchronized (lock) {
      if (outputShut || closing || !socket.acquire()) {
        return;
      }
      try {
        Posix.C.shutdown(socket.fd, Posix.SHUT_WR);
      } catch (LastErrorException e) {
        // The peer is gone already; the reader reports that.
      } finally {
        socket.release();
      }
      outputShut = true;
      lock.notifyAll();
    }
  }

  /**
   * Closes the socket; data still arriving is dropped and {@code onClose} follows. A write blocked
   * on a full socket ends too.
   */
  @Override
  public void close() {
    waker.wakeAll();
    synchronized (lock) {
      closing = true;
      lock.notifyAll();
    }
  }

  @Override
  public SocketAddress localAddress() {
    return local;
  }

  @Override
  public SocketAddress remoteAddress() {
    return remote;
  }

  @Override
  public String toString() {
    return "SocketTunnel[" + remote + "]";
  }
}
