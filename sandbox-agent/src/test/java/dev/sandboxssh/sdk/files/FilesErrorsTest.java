package dev.sandboxssh.sdk.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.Files;
import dev.sandboxssh.sdk.SandboxUnavailableException;
import dev.sandboxssh.sdk.WriteOptions;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each agent failure reaches the caller as the java.nio.file exception a local call would throw.
 */
class FilesErrorsTest {
  @TempDir Path tmp;
  private RootedAgentFixture agent;
  private Files files;

  @BeforeEach
  void start() throws Exception {
    agent = RootedAgentFixture.rooted(tmp);
    files = agent.sandbox().files();
    files.writeAll("file", new byte[] {1});
    files.mkdir("full/sub", true, 0755);
  }

  @AfterEach
  void stop() {
    agent.close();
  }

  @Test
  void missingFilesAreNoSuchFile() {
    assertThatThrownBy(() -> files.stat("missing"))
        .isInstanceOf(NoSuchFileException.class)
        .hasMessageContaining("missing");
    assertThatThrownBy(() -> files.read("missing", 0, 0)).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> files.list("missing")).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> files.writeAll("no/dir/file", new byte[] {1}))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> files.writeAll("missing", new byte[] {1}, WriteOptions.at(0)))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> files.remove("missing", true)).isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> files.mkdir("no/dir", false, 0755))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void existingTargetsAreFileAlreadyExists() {
    assertThatThrownBy(() -> files.mkdir("full", false, 0755))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThatThrownBy(() -> files.mkdir("file", true, 0755))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThatThrownBy(() -> files.symlink("x", "file"))
        .isInstanceOf(FileAlreadyExistsException.class);
  }

  @Test
  void nonEmptyDirectoriesAndNonDirectoriesAreTheirOwnExceptions() {
    assertThatThrownBy(() -> files.remove("full", false))
        .isInstanceOf(DirectoryNotEmptyException.class);
    assertThatThrownBy(() -> files.rmdir("full")).isInstanceOf(DirectoryNotEmptyException.class);
    assertThatThrownBy(() -> files.rmdir("file")).isInstanceOf(NotDirectoryException.class);
    assertThatThrownBy(() -> files.list("file")).isInstanceOf(NotDirectoryException.class);
    assertThatThrownBy(() -> files.stat("file/below")).isInstanceOf(NotDirectoryException.class);
  }

  @Test
  void otherFailuresAreFileSystemExceptionsWithTheAgentsMessage() {
    assertThatThrownBy(() -> files.readAll("full"))
        .isExactlyInstanceOf(FileSystemException.class)
        .hasMessageContaining("Is a directory");
    assertThatThrownBy(() -> files.readlink("file"))
        .isExactlyInstanceOf(FileSystemException.class)
        .hasMessageContaining("not a symbolic link");
    assertThatThrownBy(() -> files.stat("x".repeat(5000)))
        .isExactlyInstanceOf(FileSystemException.class)
        .hasMessageContaining("longer than 4096 bytes");
    assertThatThrownBy(() -> files.stat(""))
        .isExactlyInstanceOf(FileSystemException.class)
        .hasMessageContaining("path is empty");
  }

  @Test
  void escapingTheRootIsAccessDenied() {
    assertThatThrownBy(() -> files.stat("../outside/secret.txt"))
        .isInstanceOf(AccessDeniedException.class)
        .hasMessageContaining("../outside/secret.txt")
        .hasMessageContaining("outside the sandbox root");
  }

  @Test
  void aFullDiskFailsTheWriteInsteadOfTruncatingSilently(@TempDir Path other) throws Exception {
    // /dev/full answers every write with ENOSPC; only an unconfined agent may open it.
    try (RootedAgentFixture unconfined = RootedAgentFixture.unconfined(other)) {
      Files unconfinedFiles = unconfined.sandbox().files();
      OutputStream out = unconfinedFiles.write("/dev/full", WriteOptions.at(0));
      out.write(new byte[1000]);

      assertThatThrownBy(out::close)
          .isExactlyInstanceOf(FileSystemException.class)
          .hasMessageContaining("No space left on device");
    }
  }

  @Test
  void aGoneAgentIsSandboxUnavailable() {
    agent.stopAgent();

    assertThatThrownBy(() -> files.stat("file")).isInstanceOf(SandboxUnavailableException.class);
    assertThatThrownBy(() -> files.readAll("file")).isInstanceOf(SandboxUnavailableException.class);
    assertThat(agent.socket()).doesNotExist();
  }
}
