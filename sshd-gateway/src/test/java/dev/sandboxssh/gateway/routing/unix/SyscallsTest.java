package dev.sandboxssh.gateway.routing.unix;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Memory;
import org.junit.jupiter.api.Test;

/** The direct-mapped calls return counts, and -1 with the thread's errno, without exceptions. */
class SyscallsTest {
  @Test
  void readOfAnEmptyNonBlockingDescriptorFailsWithEagainThenReadsWhatWasWritten() {
    Descriptor eventfd = Waker.newEventfd();
    try (Memory buffer = new Memory(8)) {
      assertThat(Syscalls.read(eventfd.fd, buffer, 8)).isEqualTo(-1);
      assertThat(Syscalls.errno()).isEqualTo(Posix.EAGAIN);

      buffer.setLong(0, 3);
      assertThat(Syscalls.write(eventfd.fd, buffer, 8)).isEqualTo(8);
      buffer.setLong(0, 0);
      assertThat(Syscalls.read(eventfd.fd, buffer, 8)).isEqualTo(8);
      assertThat(buffer.getLong(0)).isEqualTo(3);
    } finally {
      eventfd.close();
    }
  }

  @Test
  void anInvalidDescriptorFailsWithEbadf() {
    try (Memory buffer = new Memory(8)) {
      assertThat(Syscalls.write(-1, buffer, 8)).isEqualTo(-1);
      assertThat(Syscalls.errno()).isEqualTo(9); // EBADF
    }
  }

  @Test
  void pollReportsAReadableDescriptor() {
    Descriptor eventfd = Waker.newEventfd();
    try (Memory set = Waker.pollSet();
        Memory one = new Memory(8)) {
      set.setInt(0, eventfd.fd);
      set.setShort(4, Posix.POLLIN);
      set.setShort(6, (short) 0);
      assertThat(Syscalls.poll(set, 1, 0)).isZero();
      Waker.signal(eventfd);
      assertThat(Syscalls.poll(set, 1, 1000)).isEqualTo(1);
      assertThat(set.getShort(6) & Posix.POLLIN).isEqualTo(Posix.POLLIN);
    } finally {
      eventfd.close();
    }
  }
}
