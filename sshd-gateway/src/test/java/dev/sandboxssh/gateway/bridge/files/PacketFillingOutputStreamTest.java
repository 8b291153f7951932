package dev.sandboxssh.gateway.bridge.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.channel.IoWriteFutureImpl;
import org.apache.sshd.common.channel.exception.SshChannelBufferedOutputException;
import org.apache.sshd.common.io.IoOutputStream;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.closeable.AbstractCloseable;
import org.junit.jupiter.api.Test;

class PacketFillingOutputStreamTest {
  private static final int PACKET = 32 * 1024;

  /** An SFTP read reply for a read of one packet's size: 13 bytes of header and the data. */
  private static final int REPLY = PACKET + 13;

  private static final Duration WAIT = Duration.ofSeconds(10);

  private final HeldWrites channel = new HeldWrites();
  private final Random random = new Random(4254);

  private PacketFillingOutputStream stream(int maxPending, Duration maxWait) {
    return new PacketFillingOutputStream("t", 0, channel, () -> PACKET, maxPending, maxWait);
  }

  private byte[] bytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  @Test
  void aReplyWrittenWhileNothingIsQueuedGoesOutAtOnceAndWhole() throws IOException {
    PacketFillingOutputStream out = stream(1 << 20, WAIT);
    byte[] reply = bytes(100);

    IoWriteFuture future = out.writeBuffer(new ByteArrayBuffer(reply));

    assertThat(channel.chunks()).containsExactly(reply);
    assertThat(future.isDone()).isFalse();
    channel.completeNext();
    assertThat(future.isWritten()).isTrue();
  }

  @Test
  void repliesQueuedBehindAWriteGoOutAsFullPacketsAcrossTheirBoundaries() throws IOException {
    PacketFillingOutputStream out = stream(1 << 20, WAIT);
    byte[] a = bytes(REPLY);
    byte[] b = bytes(REPLY);
    byte[] c = bytes(REPLY);

    IoWriteFuture fa = out.writeBuffer(new ByteArrayBuffer(a));
    IoWriteFuture fb = out.writeBuffer(new ByteArrayBuffer(b));
    IoWriteFuture fc = out.writeBuffer(new ByteArrayBuffer(c));
    assertThat(channel.chunks()).hasSize(1); // one chunk in flight at a time
    while (channel.holding() > 0) {
      channel.completeNext();
    }

    // Three replies of a packet and 13 bytes: four packets, three of them full, not six.
    assertThat(channel.chunks())
        .extracting(x -> x.length)
        .containsExactly(PACKET, PACKET, PACKET, 39);
    assertThat(channel.written()).isEqualTo(concat(a, b, c));
    assertThat(List.of(fa, fb, fc)).allMatch(IoWriteFuture::isWritten);
  }

  @Test
  void aChunkWithinOneReplyIsAViewOfItAndOnlyAChunkAcrossRepliesIsACopy() throws IOException {
    PacketFillingOutputStream out = stream(1 << 20, WAIT);
    ByteArrayBuffer big = new ByteArrayBuffer(bytes(7 * PACKET - 10)); // as a 223 KiB read's reply
    ByteArrayBuffer next = new ByteArrayBuffer(bytes(100));

    out.writeBuffer(big);
    out.writeBuffer(next);
    while (channel.holding() > 0) {
      channel.completeNext();
    }

    List<Buffer> sent = channel.buffers();
    // Six full packets of the big reply, one packet of its tail and the head of the next, and
    // what is left of the next.
    assertThat(sent)
        .extracting(Buffer::available)
        .containsExactly(PACKET, PACKET, PACKET, PACKET, PACKET, PACKET, PACKET, 90);
    assertThat(sent.subList(0, 6)).allMatch(b -> b.array() == big.array());
    assertThat(sent.get(6).array()).isNotSameAs(big.array()).isNotSameAs(next.array());
    assertThat(sent.get(7).array()).isSameAs(next.array());
  }

  @Test
  void aReplyIsReportedWrittenOnlyOnceItsLastByteIs() throws IOException {
    PacketFillingOutputStream out = stream(1 << 20, WAIT);

    IoWriteFuture fa = out.writeBuffer(new ByteArrayBuffer(bytes(REPLY)));
    IoWriteFuture fb = out.writeBuffer(new ByteArrayBuffer(bytes(REPLY)));
    channel.completeNext(); // the first packet of a
    assertThat(fa.isDone()).isFalse();
    channel.completeNext(); // a's last 13 bytes and most of b
    assertThat(fa.isWritten()).isTrue();
    assertThat(fb.isDone()).isFalse();
    channel.completeNext();
    assertThat(fb.isWritten()).isTrue();
  }

  @Test
  void writesThatCompleteAtOnceFollowEachOtherInOrder() throws IOException {
    channel.completeAtOnce = true;
    PacketFillingOutputStream out = stream(1 << 20, WAIT);
    List<byte[]> replies = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      byte[] r = bytes(1 + random.nextInt(3 * PACKET));
      replies.add(r);
      assertThat(out.writeBuffer(new ByteArrayBuffer(r)).isWritten()).isTrue();
    }
    assertThat(channel.written()).isEqualTo(concat(replies.toArray(byte[][]::new)));
    assertThat(channel.chunks()).allMatch(x -> x.length <= PACKET);
  }

  @Test
  void aFailedWriteFailsEveryReplyNotYetWrittenAndEveryLaterOne() throws IOException {
    PacketFillingOutputStream out = stream(1 << 20, WAIT);
    IoWriteFuture fa = out.writeBuffer(new ByteArrayBuffer(bytes(REPLY)));
    IoWriteFuture fb = out.writeBuffer(new ByteArrayBuffer(bytes(100)));

    channel.failNext(new IOException("connection reset"));

    assertThat(fa.getException()).hasRootCauseMessage("connection reset");
    assertThat(fb.getException()).hasRootCauseMessage("connection reset");
    assertThatThrownBy(() -> out.writeBuffer(new ByteArrayBuffer(bytes(10))))
        .isInstanceOf(SshChannelBufferedOutputException.class)
        .hasRootCauseMessage("connection reset");
    assertThat(channel.holding()).isZero();
  }

  @Test
  void aWriterWaitsWhileTooMuchIsQueuedAndGoesOnOnceItIsWritten() throws Exception {
    PacketFillingOutputStream out = stream(REPLY + 5, WAIT);
    out.writeBuffer(new ByteArrayBuffer(bytes(REPLY))); // one reply may pass the bound alone

    CompletableFuture<IoWriteFuture> second =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return out.writeBuffer(new ByteArrayBuffer(bytes(REPLY)));
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(200);
    assertThat(second).isNotDone();
    channel.completeNext(); // a packet of the first: still more queued than the bound allows
    Thread.sleep(200);
    assertThat(second).isNotDone();
    channel.completeNext(); // the first reply's last 13 bytes

    IoWriteFuture written = second.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    while (channel.holding() > 0) {
      channel.completeNext();
    }
    assertThat(written.isWritten()).isTrue();
  }

  @Test
  void aPeerThatTakesNothingForTheLongestWaitFailsTheStream() throws IOException {
    PacketFillingOutputStream out = stream(REPLY, Duration.ofMillis(200));
    IoWriteFuture first = out.writeBuffer(new ByteArrayBuffer(bytes(REPLY)));

    assertThatThrownBy(() -> out.writeBuffer(new ByteArrayBuffer(bytes(10))))
        .isInstanceOf(SshChannelBufferedOutputException.class)
        .hasMessageContaining("no write space");
    channel.completeNext(); // the stalled chunk finally goes; what is left of the first fails
    assertThat(first.getException()).isInstanceOf(SshChannelBufferedOutputException.class);
    assertThat(channel.holding()).isZero();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      all.writeBytes(p);
    }
    return all.toByteArray();
  }

  /** A channel whose writes complete when the test says so, recording each chunk's bytes. */
  private static final class HeldWrites extends AbstractCloseable implements IoOutputStream {
    private final List<byte[]> chunks = new ArrayList<>();
    private final List<Buffer> buffers = new ArrayList<>();
    private final Deque<IoWriteFutureImpl> held = new ArrayDeque<>();
    volatile boolean completeAtOnce;

    @Override
    public synchronized IoWriteFuture writeBuffer(Buffer buffer) {
      chunks.add(buffer.getCompactData());
      buffers.add(buffer);
      IoWriteFutureImpl future = new IoWriteFutureImpl("held", buffer);
      if (completeAtOnce) {
        future.setValue(Boolean.TRUE);
      } else {
        held.add(future);
      }
      return future;
    }

    synchronized List<byte[]> chunks() {
      return List.copyOf(chunks);
    }

    synchronized List<Buffer> buffers() {
      return List.copyOf(buffers);
    }

    synchronized int holding() {
      return held.size();
    }

    synchronized byte[] written() {
      return concat(chunks.toArray(byte[][]::new));
    }

    // Settled outside this lock: a listener writes the next chunk from the settling thread.
    void completeNext() {
      IoWriteFutureImpl next;
      synchronized (this) {
        next = held.poll();
      }
      assertThat(next).as("a chunk in flight").isNotNull();
      next.setValue(Boolean.TRUE);
    }

    void failNext(IOException e) {
      IoWriteFutureImpl next;
      synchronized (this) {
        next = held.poll();
      }
      next.setValue(e);
    }
  }
}
