package dev.sandboxssh.sdk.files;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.FileInfo;
import dev.sandboxssh.sdk.FileSystemStats;
import dev.sandboxssh.sdk.Files;
import dev.sandboxssh.sdk.Sandbox;
import dev.sandboxssh.sdk.WriteOptions;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every filesystem operation of the SDK against a real, rooted agent. */
class FilesOperationsTest {
  @TempDir Path tmp;
  private RootedAgentFixture agent;
  private Files files;
  private Path dir;

  @BeforeEach
  void start() throws Exception {
    agent = RootedAgentFixture.rooted(tmp);
    files = agent.sandbox().files();
    dir = agent.sandboxDir();
  }

  @AfterEach
  void stop() {
    agent.close();
  }

  @Test
  void writesAndReadsBackSmallFiles() throws Exception {
    files.writeAll("hello.txt", "hello\n".getBytes(UTF_8));

    assertThat(java.nio.file.Files.readString(dir.resolve("hello.txt"))).isEqualTo("hello\n");
    assertThat(files.readAll("hello.txt")).asString(UTF_8).isEqualTo("hello\n");
    assertThat(files.readAll(dir.resolve("hello.txt").toString()))
        .asString(UTF_8)
        .isEqualTo("hello\n");
  }

  @Test
  void emptyFileReadsAsEmpty() throws Exception {
    files.writeAll("empty", new byte[0]);

    assertThat(files.readAll("empty")).isEmpty();
    assertThat(files.stat("empty").size()).isZero();
  }

  @Test
  void readsFromTheMiddleForALength() throws Exception {
    files.writeAll("digits", "0123456789".getBytes(UTF_8));

    try (InputStream in = files.read("digits", 3, 4)) {
      assertThat(in.readAllBytes()).asString(UTF_8).isEqualTo("3456");
    }
    try (InputStream in = files.read("digits", 7, 0)) {
      assertThat(in.readAllBytes()).asString(UTF_8).isEqualTo("789");
    }
    try (InputStream in = files.read("digits", 100, 0)) {
      assertThat(in.read()).isEqualTo(-1);
    }
  }

  @Test
  void closingAReadEarlyLeavesTheAgentServing() throws Exception {
    files.writeAll("big", new byte[5 * 1024 * 1024]);

    try (InputStream in = files.read("big")) {
      assertThat(in.read(new byte[10])).isEqualTo(10);
    }
    assertThat(files.stat("big").size()).isEqualTo(5 * 1024 * 1024);
  }

  @Test
  void writesAtAnOffsetAndAppends() throws Exception {
    files.writeAll("f", "aaaaaaaaaa".getBytes(UTF_8));

    files.writeAll("f", "BB".getBytes(UTF_8), WriteOptions.at(4));
    files.writeAll("f", "+tail".getBytes(UTF_8), WriteOptions.appending());

    assertThat(files.readAll("f")).asString(UTF_8).isEqualTo("aaaaBBaaaa+tail");
  }

  @Test
  void writeAtAnOffsetBeyondTheEndLeavesAHole() throws Exception {
    files.writeAll("sparse", "x".getBytes(UTF_8), WriteOptions.replace().withOffset(3));

    assertThat(files.readAll("sparse")).containsExactly(0, 0, 0, 'x');
  }

  @Test
  void createdFilesGetExactlyTheAskedMode() throws Exception {
    files.writeAll("script", "#!/bin/sh\n".getBytes(UTF_8), WriteOptions.replace().withMode(0750));
    files.mkdir("private", false, 0700);

    assertThat(files.stat("script").permissions()).isEqualTo(0750);
    assertThat(files.stat("private").permissions()).isEqualTo(0700);
  }

  @Test
  void exclusiveCreateRefusesAnExistingFile() throws Exception {
    files.writeAll("once", new byte[] {1});

    assertThatThrownBy(
            () ->
                files.writeAll("once", new byte[] {2}, WriteOptions.replace().withExclusive(true)))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(files.readAll("once")).containsExactly(1);
  }

  @Test
  void smallWritesAreGatheredAndSurviveClose() throws Exception {
    AtomicInteger writeMessages = new AtomicInteger();
    ManagedChannel channel =
        Grpc.newChannelBuilder("unix://" + agent.socket(), InsecureChannelCredentials.create())
            .intercept(countingMessagesOf("Write", writeMessages))
            .build();
    try {
      Files counted = Sandbox.over(channel, agent.token()).files();
      try (OutputStream out = counted.write("bytes", WriteOptions.replace())) {
        for (int i = 0; i < 100_000; i++) {
          out.write(i & 0xff);
        }
      }
    } finally {
      channel.shutdownNow();
    }

    byte[] expected = new byte[100_000];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = (byte) (i & 0xff);
    }
    assertThat(files.readAll("bytes")).isEqualTo(expected);
    // One message opens the write; the 100,000 one-byte writes travel in chunks of at least
    // 16 KiB, not one message each.
    assertThat(writeMessages.get() - 1).as("data messages").isBetween(1, 100_000 / (16 * 1024) + 1);
  }

  /** Counts the messages the client sends on calls of the method named {@code method}. */
  private static ClientInterceptor countingMessagesOf(String method, AtomicInteger count) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(
          MethodDescriptor<Q, R> descriptor, CallOptions options, Channel next) {
        ClientCall<Q, R> call = next.newCall(descriptor, options);
        if (!method.equals(descriptor.getBareMethodName())) {
          return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
          @Override
          public void sendMessage(Q message) {
            count.incrementAndGet();
            super.sendMessage(message);
          }
        };
      }
    };
  }

  @Test
  void statDescribesTypeOwnerTimesAndLinks() throws Exception {
    files.writeAll("a.txt", "abc".getBytes(UTF_8));
    files.symlink("a.txt", "link");
    files.link("a.txt", "hard");

    FileInfo file = files.stat("a.txt");
    assertThat(file.name()).isEqualTo("a.txt");
    assertThat(file.isRegularFile()).isTrue();
    assertThat(file.size()).isEqualTo(3);
    assertThat(file.nlink()).isEqualTo(2);
    assertThat(file.mode() & 0170000).isEqualTo(0100000);
    assertThat(file.owner()).isEqualTo(System.getProperty("user.name"));
    assertThat(file.group()).isNotEmpty();
    assertThat(file.mtime().toInstant()).isAfter(Instant.now().minusSeconds(60));

    FileInfo link = files.lstat("link");
    assertThat(link.isSymbolicLink()).isTrue();
    assertThat(link.symlinkTarget()).isEqualTo("a.txt");
    assertThat(files.stat("link").isRegularFile()).isTrue();
    assertThat(files.readlink("link")).isEqualTo("a.txt");
  }

  @Test
  void listsEveryEntryInBatches() throws Exception {
    files.mkdir("many", false, 0755);
    for (int i = 0; i < 2500; i++) {
      java.nio.file.Files.createFile(dir.resolve("many/f" + i));
    }
    files.symlink("f0", "many/zlink");

    List<FileInfo> entries = files.list("many");
    assertThat(entries).hasSize(2501);
    assertThat(entries)
        .extracting(FileInfo::name)
        .contains("f0", "f2499", "zlink")
        .doesNotContain(".", "..");
    assertThat(entries)
        .filteredOn(FileInfo::isSymbolicLink)
        .extracting(FileInfo::name)
        .containsExactly("zlink");
    List<Integer> batchSizes = new ArrayList<>();
    try (Files.DirectoryListing listing = files.openDir("many")) {
      while (listing.hasNext()) {
        batchSizes.add(listing.next().size());
      }
    }
    // Batches of at most 1000, none empty, that together hold every entry.
    assertThat(batchSizes).allSatisfy(n -> assertThat(n).isBetween(1, 1000));
    assertThat(batchSizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(2501);
  }

  @Test
  void mkdirWithParentsAndRemoveRecursively() throws Exception {
    files.mkdir("a/b/c", true, 0755);
    files.mkdir("a/b/c", true, 0755);
    files.writeAll("a/b/c/file", new byte[] {1});
    files.symlink(agent.outsideDir().toString(), "a/b/out");

    files.remove("a", true);

    assertThat(java.nio.file.Files.exists(dir.resolve("a"))).isFalse();
    // The symlink was removed, not followed.
    assertThat(agent.outsideDir().resolve("secret.txt")).exists();
  }

  @Test
  void renamesWithAndWithoutOverwrite() throws Exception {
    files.writeAll("one", "1".getBytes(UTF_8));
    files.writeAll("two", "2".getBytes(UTF_8));

    assertThatThrownBy(() -> files.rename("one", "two", false))
        .isInstanceOf(FileAlreadyExistsException.class);
    files.rename("one", "two", true);
    files.rename("two", "three", false);

    assertThat(files.readAll("three")).asString(UTF_8).isEqualTo("1");
    assertThat(java.nio.file.Files.exists(dir.resolve("one"))).isFalse();
  }

  @Test
  void chmodTruncateAndTimes() throws Exception {
    files.writeAll("t", "0123456789".getBytes(UTF_8));

    files.chmod("t", 04711);
    files.truncate("t", 4);
    assertThat(files.readAll("t")).asString(UTF_8).isEqualTo("0123");
    files.truncate("t", 6);
    assertThat(files.readAll("t")).containsExactly('0', '1', '2', '3', 0, 0);
    FileTime atime = FileTime.from(Instant.parse("2001-02-03T04:05:06.123456789Z"));
    FileTime mtime = FileTime.from(Instant.parse("2002-03-04T05:06:07.987654321Z"));
    files.setTimes("t", atime, mtime);

    FileInfo info = files.stat("t");
    assertThat(info.permissions()).isEqualTo(04711);
    assertThat(info.mtime().toInstant()).isEqualTo(mtime.toInstant());
    assertThat(info.atime().toInstant()).isEqualTo(atime.toInstant());
    files.setTimes("t", null, FileTime.from(Instant.parse("2003-01-01T00:00:00Z")));
    assertThat(files.stat("t").atime()).isEqualTo(info.atime());
  }

  @Test
  void chownChangesOwnerAndGroupSeparately() throws Exception {
    // This agent runs in the test JVM, as root: it may give a file to any id.
    files.writeAll("owned", new byte[0]);
    FileInfo before = files.stat("owned");
    assertThat(before.uid()).isNotEqualTo(4242);

    files.chown("owned", 4242, -1);
    assertThat(files.stat("owned").uid()).isEqualTo(4242);
    assertThat(files.stat("owned").gid()).isEqualTo(before.gid());
    files.chown("owned", -1, 4343);

    assertThat(java.nio.file.Files.getAttribute(dir.resolve("owned"), "unix:uid")).isEqualTo(4242);
    assertThat(java.nio.file.Files.getAttribute(dir.resolve("owned"), "unix:gid")).isEqualTo(4343);
  }

  @Test
  void realpathHomeAndStatvfs() throws Exception {
    files.mkdir("real/dir", true, 0755);
    files.symlink("real/dir", "shortcut");

    assertThat(files.home()).isEqualTo(dir.toString());
    assertThat(files.realpath("shortcut/../dir/./new"))
        .isEqualTo(dir.resolve("real/dir/new").toString());
    assertThat(files.realpath(".")).isEqualTo(dir.toString());
    FileSystemStats stats = files.statvfs(".");
    assertThat(stats.blockSize()).isPositive();
    assertThat(stats.blocks()).isGreaterThanOrEqualTo(stats.blocksFree());
  }

  @Test
  void rmdirRemovesOnlyEmptyDirectories() throws Exception {
    files.mkdir("d", false, 0755);
    files.rmdir("d");
    assertThat(java.nio.file.Files.exists(dir.resolve("d"))).isFalse();

    files.mkdir("full/sub", true, 0755);
    files.writeAll("full/file", "kept".getBytes(UTF_8));
    assertThatThrownBy(() -> files.rmdir("full")).isInstanceOf(DirectoryNotEmptyException.class);
    assertThat(dir.resolve("full/sub")).isDirectory();
    assertThat(dir.resolve("full/file")).hasContent("kept");

    files.writeAll("plain", "kept".getBytes(UTF_8));
    assertThatThrownBy(() -> files.rmdir("plain")).isInstanceOf(NotDirectoryException.class);
    assertThat(dir.resolve("plain")).hasContent("kept");
  }
}
