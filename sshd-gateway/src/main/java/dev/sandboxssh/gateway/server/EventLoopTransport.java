package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.sshd.common.Factory;
import org.apache.sshd.common.FactoryManager;
import org.apache.sshd.common.io.IoAcceptor;
import org.apache.sshd.common.io.IoConnector;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoServiceEventListener;
import org.apache.sshd.common.io.IoServiceFactory;
import org.apache.sshd.common.io.IoServiceFactoryFactory;
import org.apache.sshd.common.util.closeable.AbstractCloseable;
import org.apache.sshd.common.util.threads.CloseableExecutorService;

/**
 * The gateway's transport under MINA: one {@link EventLoop} per core, each owning the connections
 * it was given, reading them and running their handlers on its own thread.
 *
 * <p>The cost: a connection's key exchange (a host-key signature and a Diffie-Hellman agreement,
 * about a millisecond with Ed25519 and Curve25519) holds up the other connections of its loop for
 * that long, as it would in any event-loop server. Slow work past the key exchange, such as
 * resolving a sandbox or checking an owner's key, already runs off the loop.
 */
public final class EventLoopTransport implements IoServiceFactoryFactory {
  // One loop's shared read buffer: twice the largest SSH packet MINA accepts by default, so a bulk
  // upload is read in few calls.
  static final int READ_BUFFER_BYTES = 64 * 1024;

  private final int loops;

  /** A transport with one loop per available core. */
  public EventLoopTransport() {
    this(Runtime.getRuntime().availableProcessors());
  }

  /** A transport with the given number of loops. */
  public EventLoopTransport(int loops) {
    if (loops < 1) {
      throw new IllegalArgumentException("loops must be at least 1, was " + loops);
    }
    this.loops = loops;
  }

  @Override
  public IoServiceFactory create(FactoryManager manager) {
    List<EventLoop> started = new ArrayList<>(loops);
    try {
      for (int i = 1; i <= loops; i++) {
        started.add(new EventLoop("ssh-io-" + i, READ_BUFFER_BYTES));
      }
    } catch (IOException e) {
      started.forEach(EventLoop::stop);
      throw new UncheckedIOException("opening a selector", e);
    }
    return new Service(manager, List.copyOf(started));
  }

  /** Ignored: the loops are the transport's own threads, and it runs nothing on an executor. */
  @Override
  public void setExecutorServiceFactory(Factory<CloseableExecutorService> factory) {}

  private static final class Service extends AbstractCloseable implements IoServiceFactory {
    private final FactoryManager manager;
    private final List<EventLoop> loops;
    private volatile IoServiceEventListener listener;

    Service(FactoryManager manager, List<EventLoop> loops) {
      this.manager = manager;
      this.loops = loops;
    }

    @Override
    public IoAcceptor createAcceptor(IoHandler handler) {
      EventLoopAcceptor acceptor = new EventLoopAcceptor(manager, handler, loops);
      acceptor.setIoServiceEventListener(listener);
      return acceptor;
    }

    /** Refused: the gateway only accepts; its forwards reach sandboxes through their agents. */
    @Override
    public IoConnector createConnector(IoHandler handler) {
      throw new UnsupportedOperationException(
          "the gateway's transport makes no outgoing connections");
    }

    @Override
    public IoServiceEventListener getIoServiceEventListener() {
      return listener;
    }

    @Override
    public void setIoServiceEventListener(IoServiceEventListener listener) {
      this.listener = listener;
    }

    @Override
    protected void doCloseImmediately() {
      loops.forEach(EventLoop::stop);
      super.doCloseImmediately();
    }
  }
}
