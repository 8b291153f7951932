package dev.sandboxssh.gateway.bridge.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.AgentServer;
import dev.sandboxssh.agent.ListenAddress;
import dev.sandboxssh.gateway.routing.unix.UnixDescriptorSocket;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NIO provider against a real agent (confined with --root) over a unix socket, with files read
 * and written through the agent's streams.
 */
class SandboxFileSystemTest {
  @TempDir Path tmp;
  Path sandboxDir;
  Path outside;
  AgentServer server;
  Sandbox sandbox;
  SandboxFileSystem fs;
  SandboxFileSystemProvider provider = new SandboxFileSystemProvider();

  @BeforeEach
  void startAgent() throws IOException {
    sandboxDir = Files.createDirectories(tmp.resolve("sandbox")).toRealPath();
    outside = Files.createDirectories(tmp.resolve("outside")).toRealPath();
    Files.writeString(outside.resolve("secret.txt"), "host secret\n");
    Path socket = tmp.resolve("agent.sock");
    server =
        AgentServer.listen(
            new ListenAddress.Unix(socket), new AgentConfig("t", sandboxDir, sandboxDir));
    sandbox = Sandbox.connect("unix:" + socket, "t");
    sandbox.awaitReady(Duration.ofSeconds(10));
    if (handOff()) {
      sandbox.files().handOffTo(new UnixDescriptorSocket(tmp.resolve("fds.sock"))::takeFile);
    }
    fs = provider.newFileSystem(() -> sandbox.files(), TransferMeter.NONE);
  }

  /** Whether files are open in this process (the gateway's local path) or behind the agent. */
  boolean handOff() {
    return false;
  }

  @AfterEach
  void stopAgent() {
    fs.close();
    sandbox.close();
    server.close();
  }

  @Test
  void relativePathsStartAtHome() {
    assertThat(fs.getPath("a/b").toAbsolutePath()).isEqualTo(fs.getDefaultDir().resolve("a/b"));
    assertThat(fs.getDefaultDir().isAbsolute()).isTrue();
  }

  @Test
  void writesAtIncreasingOffsetsAndReadsAfterSeeks() throws IOException {
    Path file = fs.getPath("f.bin");
    byte[] data = new byte[300_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31);
    }
    try (SeekableByteChannel ch =
        Files.newByteChannel(
            file, Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW))) {
      for (int off = 0; off < data.length; off += 32768) {
        ch.position(off).write(ByteBuffer.wrap(data, off, Math.min(32768, data.length - off)));
      }
    }
    assertThat(Files.readAllBytes(sandboxDir.resolve("f.bin"))).isEqualTo(data);
    try (SeekableByteChannel ch = Files.newByteChannel(file)) {
      ByteBuffer buf = ByteBuffer.allocate(1000);
      ch.position(250_000).read(buf);
      assertThat(buf.array()).isEqualTo(java.util.Arrays.copyOfRange(data, 250_000, 251_000));
      buf.clear();
      ch.position(10).read(buf);
      assertThat(buf.array()).isEqualTo(java.util.Arrays.copyOfRange(data, 10, 1010));
      buf.clear();
      assertThat(ch.position(data.length).read(buf)).isEqualTo(-1);
    }
  }

  @Test
  void exclusiveCreateFailsOnAnExistingFileAtOpen() throws IOException {
    Files.writeString(sandboxDir.resolve("x"), "x");
    assertThatThrownBy(
            () ->
                Files.newByteChannel(
                    fs.getPath("x"),
                    Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThatThrownBy(() -> Files.newByteChannel(fs.getPath("missing")))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void refusesPathsThatLeaveTheSandbox() throws IOException {
    Files.createSymbolicLink(sandboxDir.resolve("out-link"), outside.resolve("secret.txt"));
    Files.writeString(sandboxDir.resolve("inside.txt"), "inside\n");
    Files.createDirectory(sandboxDir.resolve("sub"));
    Files.createSymbolicLink(sandboxDir.resolve("in-link"), sandboxDir.resolve("inside.txt"));
    // Paths of the same shapes that stay inside are served, so the refusals below are refusals
    // of where those paths lead, not of `..`, absolute paths or symlinks as such.
    for (String p :
        List.of(
            "sub/../inside.txt",
            sandboxDir + "/inside.txt",
            "in-link",
            "/../../" + sandboxDir + "/inside.txt")) {
      assertThat(Files.readString(fs.getPath(p))).as(p).isEqualTo("inside\n");
    }
    // Each escape is refused as one: a path resolved to some missing file inside the sandbox
    // (NoSuchFileException) would be wrong too.
    for (String p :
        List.of(
            "../outside/secret.txt",
            outside + "/secret.txt",
            "out-link",
            "/../../" + outside + "/secret.txt")) {
      assertThatThrownBy(() -> Files.readAllBytes(fs.getPath(p)))
          .as(p)
          .isInstanceOf(AccessDeniedException.class);
    }
    assertThatThrownBy(() -> Files.writeString(fs.getPath("../outside/planted"), "x"))
        .isInstanceOf(AccessDeniedException.class);
    assertThat(outside.resolve("planted")).doesNotExist();
  }

  @Test
  void listsRenamesCopiesAndDescribes() throws IOException {
    Files.createDirectory(fs.getPath("d"));
    Files.writeString(fs.getPath("d/a.txt"), "alpha");
    Files.setPosixFilePermissions(
        fs.getPath("d/a.txt"), PosixFilePermissions.fromString("rw-r-----"));
    Files.createSymbolicLink(fs.getPath("d/l"), fs.getPath("a.txt"));
    List<String> names = new ArrayList<>();
    try (var stream = Files.newDirectoryStream(fs.getPath("d"))) {
      stream.forEach(p -> names.add(p.getFileName().toString()));
    }
    assertThat(names).containsExactlyInAnyOrder("a.txt", "l");
    PosixFileAttributes attrs =
        Files.readAttributes(fs.getPath("d/a.txt"), PosixFileAttributes.class);
    assertThat(attrs.size()).isEqualTo(5);
    assertThat(PosixFilePermissions.toString(attrs.permissions())).isEqualTo("rw-r-----");
    assertThat(Files.isSymbolicLink(fs.getPath("d/l"))).isTrue();
    assertThat(Files.readSymbolicLink(fs.getPath("d/l"))).hasToString("a.txt");

    Files.copy(fs.getPath("d/a.txt"), fs.getPath("d/b.txt"));
    assertThatThrownBy(() -> Files.move(fs.getPath("d/a.txt"), fs.getPath("d/b.txt")))
        .isInstanceOf(FileAlreadyExistsException.class);
    Files.move(fs.getPath("d/a.txt"), fs.getPath("d/b.txt"), StandardCopyOption.REPLACE_EXISTING);
    assertThat(Files.readString(sandboxDir.resolve("d/b.txt"))).isEqualTo("alpha");
    assertThatThrownBy(() -> Files.delete(fs.getPath("d"))).isInstanceOf(FileSystemException.class);
    assertThat(Files.getFileStore(fs.getPath(".")).getTotalSpace()).isPositive();
  }

  @Test
  void closingTheFileSystemReleasesOpenChannels() throws IOException {
    Files.write(fs.getPath("big"), new byte[1 << 20]);
    SeekableByteChannel reading = Files.newByteChannel(fs.getPath("big"));
    reading.read(ByteBuffer.allocate(100));
    SeekableByteChannel writing =
        Files.newByteChannel(
            fs.getPath("w"), Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE));
    writing.write(ByteBuffer.wrap("partial".getBytes(StandardCharsets.UTF_8)));
    assertThat(provider.openCount()).isEqualTo(2);
    fs.close();
    assertThat(provider.openCount()).isZero();
    assertThat(reading.isOpen()).isFalse();
    // What was written before the abrupt end is kept, as with a killed writer process.
    assertThat(Files.readString(sandboxDir.resolve("w"))).isEqualTo("partial");
  }
}
