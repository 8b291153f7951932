package dev.sandboxssh.gateway.bridge.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Chunks come out in order, joined up to the limit, and never across a marker. */
class ChunkQueueTest {
  private static final Object MARK = new Object();

  @Test
  void joinsChunksBackToBackUpToTheLimitAndNeverAcrossAMarker() {
    ChunkQueue q = new ChunkQueue(8);
    q.add(new byte[] {1, 2, 3});
    q.add(new byte[] {4, 5});
    q.add(new byte[] {6, 7, 8, 9});
    q.add(MARK);
    q.add(new byte[] {10});
    assertThat((byte[]) q.next()).containsExactly(1, 2, 3, 4, 5);
    assertThat((byte[]) q.next()).containsExactly(6, 7, 8, 9);
    assertThat(q.next()).isSameAs(MARK);
    assertThat((byte[]) q.next()).containsExactly(10);
    assertThat(q.next()).isNull();
    assertThat(q.isEmpty()).isTrue();
  }

  @Test
  void aChunkAloneIsHandedOutAsItCame() {
    ChunkQueue q = new ChunkQueue(4);
    byte[] big = new byte[10];
    q.add(big);
    q.add(new byte[] {1});
    assertThat(q.next()).isSameAs(big);
    assertThat((byte[]) q.next()).containsExactly(1);
  }
}
