package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.io.WriteAbortedException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.common.future.CloseFuture;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoSession;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.io.nio2.Nio2DefaultIoWriteFuture;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.closeable.AbstractCloseable;

/**
 * One accepted TCP connection on an {@link EventLoop}.
 *
 * <p>Reads happen on the loop, which hands each read to MINA's handler on the same thread. A write
 * goes to the socket on the thread that asks for it, usually the bridge thread that read a
 * sandbox's output, and its future completes there; only what the socket cannot take at once is
 * queued for the loop. So a keystroke's echo wakes no thread but the loop and the bridge, where the
 * JDK's asynchronous channels woke a worker for each read and another for each write.
 */
final class EventLoopSession extends AbstractCloseable implements IoSession, EventLoop.Ready {
  private static final AtomicLong IDS = new AtomicLong(100);
  // A loop reads a busy connection this many times in a row, then lets its other connections go;
  // a read that does not fill the buffer has drained the socket and ends the run early.
  private static final int READS_PER_TURN = 4;
  // At most this many queued packets go to the socket in one gathering write.
  private static final int PACKETS_PER_WRITE = 16;

  private final long id = IDS.incrementAndGet();
  private final EventLoopAcceptor service;
  private final IoHandler handler;
  private final EventLoop loop;
  private final SocketChannel socket;
  private final SelectionKey key;
  private final SocketAddress localAddress;
  private final SocketAddress remoteAddress;
  private final SocketAddress acceptanceAddress;
  private final Map<Object, Object> attributes = new HashMap<>();

  // Guards the socket's writes and the queue of those waiting: both the threads that write and
  // the loop, when the socket has room again, send from the head of the queue. A null buffer in
  // the queue stands for shutting down output once what is ahead of it has gone.
  private final Object writeLock = new Object();
  private final ArrayDeque<Nio2DefaultIoWriteFuture> pending = new ArrayDeque<>();
  private final AtomicBoolean outputShutDown = new AtomicBoolean();
  // Guards readSuspended together with the read interest, so that a suspension and a resumption
  // racing on two threads cannot leave the flag clear and the interest off.
  private final Object readLock = new Object();
  private volatile boolean readSuspended;
  // Only the loop's thread reads or sets it: while the loop hands reads to the handler, what the
  // handler writes (window adjustments above all, one per three packets of an upload) is queued and
  // goes out in one write at the end of the turn, not in a system call each.
  private boolean corked;
  // Whether the loop queued a write during its current turn, and so has to flush at its end.
  private boolean corkedWrites;

  EventLoopSession(
      EventLoopAcceptor service,
      IoHandler handler,
      EventLoop loop,
      SocketChannel socket,
      SelectionKey key,
      SocketAddress acceptanceAddress)
      throws IOException {
    this.service = service;
    this.handler = handler;
    this.loop = loop;
    this.socket = socket;
    this.key = key;
    this.localAddress = socket.getLocalAddress();
    this.remoteAddress = socket.getRemoteAddress();
    this.acceptanceAddress = acceptanceAddress;
  }

  /** Starts reading, once the handler knows the session. */
  void startReading() {
    synchronized (readLock) {
      if (!readSuspended) {
        interest(SelectionKey.OP_READ, true);
      }
    }
  }

  /** The loop this connection belongs to. */
  EventLoop loop() {
    return loop;
  }

  /** The connection's socket, for what the kernel measures of its path. */
  SocketChannel socket() {
    return socket;
  }

  @Override
  public void ready(SelectionKey selected) {
    int ops = selected.readyOps();
    if ((ops & SelectionKey.OP_WRITE) != 0) {
      flush();
    }
    if ((ops & SelectionKey.OP_READ) != 0) {
      read();
    }
  }

  private void read() {
    if (readSuspended) {
      return; // selected just before the suspension took the interest away
    }
    ByteBuffer buffer = loop.readBuffer();
    corked = true;
    try {
      for (int i = 0; i < READS_PER_TURN; i++) {
        buffer.clear();
        int n = socket.read(buffer);
        if (n < 0) {
          close(true);
          return;
        }
        if (n == 0) {
          return;
        }
        buffer.flip();
        handler.messageReceived(this, loop.readable());
        if (n < buffer.capacity() || readSuspended || closeFuture.isClosed()) {
          return;
        }
      }
    } catch (Throwable e) {
      exceptionCaught(e);
    } finally {
      corked = false;
      if (corkedWrites) {
        corkedWrites = false;
        flush();
      }
    }
  }

  @Override
  public IoWriteFuture writeBuffer(Buffer buffer) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(buffer.array(), buffer.rpos(), buffer.available());
    Nio2DefaultIoWriteFuture future = new Nio2DefaultIoWriteFuture(remoteAddress, null, bytes);
    if (isClosing()) {
      Throwable closed = new ClosedChannelException();
      future.setException(closed);
      exceptionCaught(closed);
      return future;
    }
    enqueue(future);
    return future;
  }

  @Override
  public void shutdownOutputStream() throws IOException {
    if (outputShutDown.compareAndSet(false, true)) {
      enqueue(new Nio2DefaultIoWriteFuture("shutdown-" + remoteAddress, null, null));
    }
  }

  private void enqueue(Nio2DefaultIoWriteFuture future) {
    List<Nio2DefaultIoWriteFuture> done = new ArrayList<>(1);
    FailedWrite failed;
    synchronized (writeLock) {
      pending.add(future);
      if (pending.size() > 1) {
        return; // the loop sends it after those ahead of it
      }
      if (corked && loop.inLoop()) {
        corkedWrites = true;
        return; // the loop sends it at the end of its turn
      }
      failed = sendPending(done);
    }
    finish(done, failed);
  }

  /** Sends what the socket can take now, when it says it has room again. */
  private void flush() {
    List<Nio2DefaultIoWriteFuture> done = new ArrayList<>();
    FailedWrite failed;
    synchronized (writeLock) {
      failed = sendPending(done);
    }
    finish(done, failed);
  }

  /** A write the socket refused, and why. */
  private record FailedWrite(Nio2DefaultIoWriteFuture future, IOException cause) {}

  // Under writeLock. Writes from the head of the queue until it is empty or the socket is full,
  // adding the futures whose bytes all went to done, for the caller to complete outside the lock.
  // A failed write leaves the queue; the rest is aborted when the failure closes the connection.
  private FailedWrite sendPending(List<Nio2DefaultIoWriteFuture> done) {
    for (Nio2DefaultIoWriteFuture head = pending.peek(); head != null; head = pending.peek()) {
      ByteBuffer last;
      try {
        if (head.getBuffer() == null) {
          shutdownOutput();
          done.add(pending.poll());
          continue;
        }
        // Non-blocking, so not interruptible: a bridge thread interrupted while writing gets its
        // bytes sent, where a blocking channel would close the whole connection.
        int count = queuedPackets();
        if (count == 1) {
          last = head.getBuffer();
          socket.write(last);
        } else {
          ByteBuffer[] packets = new ByteBuffer[count];
          int i = 0;
          for (Nio2DefaultIoWriteFuture f : pending) {
            if (i == count) {
              break;
            }
            packets[i++] = f.getBuffer();
          }
          last = packets[count - 1];
          socket.write(packets);
        }
      } catch (IOException e) {
        pending.poll();
        return new FailedWrite(head, e);
      }
      for (Nio2DefaultIoWriteFuture sent = pending.peek();
          sent != null && sent.getBuffer() != null && !sent.getBuffer().hasRemaining();
          sent = pending.peek()) {
        done.add(pending.poll());
      }
      if (last.hasRemaining()) {
        // The socket is full: the rest goes when it has room.
        interest(SelectionKey.OP_WRITE, true);
        loop.wakeup();
        return null;
      }
    }
    interest(SelectionKey.OP_WRITE, false);
    return null;
  }

  // Under writeLock. How many data packets at the head of the queue go in one write: up to a
  // shutdown marker, and at most PACKETS_PER_WRITE.
  private int queuedPackets() {
    int count = 0;
    for (Nio2DefaultIoWriteFuture f : pending) {
      if (f.getBuffer() == null || count == PACKETS_PER_WRITE) {
        break;
      }
      count++;
    }
    return count;
  }

  private void shutdownOutput() throws IOException {
    try {
      socket.shutdownOutput();
    } catch (ClosedChannelException e) {
      // The peer closed first, as it may when a forward's two ends finish together.
    }
  }

  private void finish(List<Nio2DefaultIoWriteFuture> done, FailedWrite failed) {
    for (Nio2DefaultIoWriteFuture future : done) {
      future.setWritten();
    }
    if (failed != null) {
      failed.future().setException(failed.cause());
      exceptionCaught(failed.cause());
    }
  }

  private void exceptionCaught(Throwable e) {
    if (closeFuture.isClosed()) {
      return;
    }
    if (isOpen() && socket.isOpen()) {
      try {
        handler.exceptionCaught(this, e);
      } catch (Throwable t) {
        log.debug("exceptionCaught({}): the handler threw {}", this, t.toString());
      }
    }
    close(true);
  }

  private void interest(int op, boolean on) {
    try {
      if (on) {
        key.interestOpsOr(op);
      } else {
        key.interestOpsAnd(~op);
      }
    } catch (CancelledKeyException e) {
      // Closed meanwhile; there is nothing left to read or write.
    }
  }

  @Override
  public void suspendRead() {
    synchronized (readLock) {
      readSuspended = true;
      interest(SelectionKey.OP_READ, false);
    }
  }

  @Override
  public void resumeRead() {
    synchronized (readLock) {
      if (!readSuspended) {
        return;
      }
      readSuspended = false;
      interest(SelectionKey.OP_READ, true);
    }
    loop.wakeup();
  }

  @Override
  protected CloseFuture doCloseGracefully() {
    List<Nio2DefaultIoWriteFuture> writes;
    synchronized (writeLock) {
      writes = new ArrayList<>(pending);
    }
    Object closeId = toString();
    return builder()
        .when(closeId, writes)
        .run(
            closeId,
            () -> {
              try {
                shutdownOutput();
              } catch (IOException e) {
                log.trace("doCloseGracefully({}): {}", this, e.toString());
              }
            })
        .build()
        .close(false);
  }

  @Override
  protected void doCloseImmediately() {
    List<Nio2DefaultIoWriteFuture> aborted;
    synchronized (writeLock) {
      aborted = new ArrayList<>(pending);
      pending.clear();
    }
    for (Nio2DefaultIoWriteFuture future : aborted) {
      if (!future.isDone()) {
        future.setException(
            new WriteAbortedException("write aborted: the connection closed at once", null));
      }
    }
    key.cancel();
    try {
      socket.close();
    } catch (IOException e) {
      log.debug("doCloseImmediately({}): {}", this, e.toString());
    }
    // The socket's descriptor is released at the loop's next select.
    loop.wakeup();
    service.sessionClosed(this);
    super.doCloseImmediately();
    try {
      handler.sessionClosed(this);
    } catch (Throwable e) {
      log.debug("doCloseImmediately({}): the handler threw {}", this, e.toString());
    }
    synchronized (attributes) {
      attributes.clear();
    }
  }

  @Override
  public long getId() {
    return id;
  }

  @Override
  public EventLoopAcceptor getService() {
    return service;
  }

  @Override
  public SocketAddress getAcceptanceAddress() {
    return acceptanceAddress;
  }

  @Override
  public SocketAddress getLocalAddress() {
    return localAddress;
  }

  @Override
  public SocketAddress getRemoteAddress() {
    return remoteAddress;
  }

  @Override
  public Object getAttribute(Object name) {
    synchronized (attributes) {
      return attributes.get(name);
    }
  }

  @Override
  public Object setAttribute(Object name, Object value) {
    synchronized (attributes) {
      return attributes.put(name, value);
    }
  }

  @Override
  public Object setAttributeIfAbsent(Object name, Object value) {
    synchronized (attributes) {
      return attributes.putIfAbsent(name, value);
    }
  }

  @Override
  public Object removeAttribute(Object name) {
    synchronized (attributes) {
      return attributes.remove(name);
    }
  }

  @Override
  public String toString() {
    return "EventLoopSession[local=" + localAddress + ", remote=" + remoteAddress + "]";
  }
}
