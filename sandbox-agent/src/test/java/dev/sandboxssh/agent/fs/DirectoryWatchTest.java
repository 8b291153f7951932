package dev.sandboxssh.agent.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.api.v1.Change;
import dev.sandboxssh.api.v1.FilesystemServiceGrpc;
import dev.sandboxssh.api.v1.WatchEvent;
import dev.sandboxssh.api.v1.WatchRequest;
import io.grpc.CallCredentials;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's Watch rpc against a real, rooted agent: what it reports and what it refuses. */
class DirectoryWatchTest {
  @TempDir Path tmp;
  private RootedAgentFixture agent;
  private ManagedChannel channel;
  private FilesystemServiceGrpc.FilesystemServiceBlockingStub files;

  @BeforeEach
  void start() throws Exception {
    agent = RootedAgentFixture.rooted(tmp);
    channel =
        Grpc.newChannelBuilder("unix://" + agent.socket(), InsecureChannelCredentials.create())
            .build();
    String token = agent.token();
    files =
        FilesystemServiceGrpc.newBlockingStub(channel)
            .withCallCredentials(
                new CallCredentials() {
                  @Override
                  public void applyRequestMetadata(
                      RequestInfo info, Executor executor, MetadataApplier applier) {
                    Metadata m = new Metadata();
                    m.put(
                        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
                        "Bearer " + token);
                    applier.apply(m);
                  }
                });
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    agent.close();
  }

  @Test
  void reportsChangesBelowTheWatchedDirectoryInOrder() throws Exception {
    Path dir = Files.createDirectories(agent.sandboxDir().resolve("w"));
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      Iterator<WatchEvent> events =
          context.call(
              () ->
                  files
                      .withDeadlineAfter(20, TimeUnit.SECONDS)
                      .watch(WatchRequest.newBuilder().setPath("w").setRecursive(true).build()));
      assertThat(events.next().hasStarted()).isTrue();
      // Made at once, before the new directory can be watched: still reported.
      Files.createDirectories(dir.resolve("sub/deeper"));
      Files.writeString(dir.resolve("sub/deeper/early.txt"), "x");
      List<String> seen = new ArrayList<>();
      while (!seen.contains("CREATED:sub/deeper/early.txt")) {
        WatchEvent e = events.next();
        if (e.hasChange()) {
          seen.add(e.getChange().getKind() + ":" + e.getChange().getName());
        }
      }
      Files.writeString(dir.resolve("sub/f.txt"), "x");
      Files.delete(dir.resolve("sub/f.txt"));
      while (!seen.contains("REMOVED:sub/f.txt")) {
        WatchEvent e = events.next();
        if (e.hasChange()) {
          Change c = e.getChange();
          seen.add(c.getKind() + ":" + c.getName());
        }
      }
      assertThat(seen)
          .startsWith("CREATED:sub")
          .contains("CREATED:sub/deeper", "CREATED:sub/f.txt");
    } finally {
      context.cancel(null);
    }
  }

  @Test
  void refusesWhatListDirRefuses() throws Exception {
    Files.writeString(agent.sandboxDir().resolve("plain.txt"), "x");
    assertThatThrownBy(() -> first("plain.txt"))
        .isInstanceOf(StatusRuntimeException.class)
        .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThatThrownBy(() -> first("missing"))
        .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
        .isEqualTo(Status.Code.NOT_FOUND);
    // Outside the root: the host directory the fixture keeps a secret in.
    assertThatThrownBy(() -> first(agent.outsideDir().toString()))
        .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  private WatchEvent first(String path) throws Exception {
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      return context.call(
          () ->
              files
                  .withDeadlineAfter(10, TimeUnit.SECONDS)
                  .watch(WatchRequest.newBuilder().setPath(path).build())
                  .next());
    } finally {
      context.cancel(null);
    }
  }
}
