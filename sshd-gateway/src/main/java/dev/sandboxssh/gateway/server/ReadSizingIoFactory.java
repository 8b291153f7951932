package dev.sandboxssh.gateway.server;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousSocketChannel;
import org.apache.sshd.common.FactoryManager;
import org.apache.sshd.common.PropertyResolver;
import org.apache.sshd.common.io.IoHandler;
import org.apache.sshd.common.io.IoServiceFactory;
import org.apache.sshd.common.io.nio2.Nio2CompletionHandler;
import org.apache.sshd.common.io.nio2.Nio2Service;
import org.apache.sshd.common.io.nio2.Nio2ServiceFactory;
import org.apache.sshd.common.io.nio2.Nio2ServiceFactoryFactory;
import org.apache.sshd.common.io.nio2.Nio2Session;
import org.apache.sshd.common.util.Readable;
import org.apache.sshd.core.CoreModuleProperties;

/**
 * MINA's NIO2 transport, whose connections read into a buffer sized by {@link ReadBufferSizer}
 * rather than a fixed 32 KB one each.
 */
final class ReadSizingIoFactory extends Nio2ServiceFactoryFactory {
  @Override
  public IoServiceFactory create(FactoryManager manager) {
    return new Nio2ServiceFactory(manager, newExecutor(), newExecutor()) {
      @Override
      public Nio2Session createSession(
          Nio2Service service,
          IoHandler handler,
          AsynchronousSocketChannel socket,
          SocketAddress acceptanceAddress)
          throws IOException {
        return new SizedReadSession(
            service, getFactoryManager(), handler, socket, acceptanceAddress);
      }
    };
  }

  /**
   * A connection that reads into a new buffer when its sizer asks for another size. Reads of one
   * connection follow each other (one is outstanding at a time), each completion happening before
   * the next read starts, so the sizer needs no lock.
   */
  static final class SizedReadSession extends Nio2Session {
    private final ReadBufferSizer sizer;
    // Volatile only for readCapacity(), which any thread may call.
    private volatile int nextCapacity;

    SizedReadSession(
        Nio2Service service,
        PropertyResolver properties,
        IoHandler handler,
        AsynchronousSocketChannel socket,
        SocketAddress acceptanceAddress)
        throws IOException {
      super(service, properties, handler, socket, acceptanceAddress);
      this.sizer =
          new ReadBufferSizer(CoreModuleProperties.NIO2_READ_BUFFER_SIZE.getRequired(properties));
      this.nextCapacity = sizer.initial();
    }

    /** The size of the buffer this connection reads into next, or reads into now. */
    int readCapacity() {
      return nextCapacity;
    }

    @Override
    public void startReading() {
      startReading(ByteBuffer.allocate(nextCapacity));
    }

    @Override
    protected void handleReadCycleCompletion(
        ByteBuffer buffer,
        Readable bufReader,
        Nio2CompletionHandler<Integer, Object> completionHandler,
        Integer result,
        Object attachment) {
      if (result != null && result >= 0) {
        nextCapacity = sizer.afterRead(result, buffer.capacity());
      }
      super.handleReadCycleCompletion(buffer, bufReader, completionHandler, result, attachment);
    }

    // Also called again with the same buffer when a suspended read resumes: the choice depends on
    // the last completed read only, so it is the same both times.
    @Override
    protected void doReadCycle(
        ByteBuffer buffer, Nio2CompletionHandler<Integer, Object> completion) {
      if (buffer.capacity() == nextCapacity) {
        super.doReadCycle(buffer, completion);
        return;
      }
      ByteBuffer next = ByteBuffer.allocate(nextCapacity);
      super.doReadCycle(next, createReadCycleCompletionHandler(next, Readable.readable(next)));
    }
  }
}
