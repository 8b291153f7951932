package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.gateway.bridge.io.OutputPackets;
import dev.sandboxssh.gateway.session.SessionContext;
import dev.sandboxssh.sdk.FileSystemStats;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import org.apache.sshd.common.io.IoOutputStream;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.SftpSubsystem;
import org.apache.sshd.sftp.server.SftpSubsystemConfigurator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MINA's SFTP server bound to a sandbox: the sandbox is reached on this subsystem's own thread
 * before the first request is read (MINA hands the filesystem over on an I/O thread), and a few
 * OpenSSH extensions MINA lacks ({@code statvfs}, {@code fstatvfs}, {@code expand-path}) are added
 * while those that make the server do unbounded work for one request are refused.
 */
final class SandboxSftpSubsystem extends SftpSubsystem {
  private static final Logger log = LoggerFactory.getLogger(SandboxSftpSubsystem.class);

  static final String STATVFS = "statvfs@openssh.com";
  static final String FSTATVFS = "fstatvfs@openssh.com";
  static final String EXPAND_PATH = "expand-path@openssh.com";

  /**
   * Hashing extensions: one request could make the gateway read a whole (huge) file through the
   * agent and hash it, and text-seek is a line scan of the same kind; OpenSSH's clients use none.
   */
  static final Set<String> REFUSED =
      Set.of(
          SftpConstants.EXT_MD5_HASH,
          SftpConstants.EXT_MD5_HASH_HANDLE,
          SftpConstants.EXT_CHECK_FILE_HANDLE,
          SftpConstants.EXT_CHECK_FILE_NAME,
          SftpConstants.EXT_TEXT_SEEK);

  private static final Duration STDERR_TIMEOUT = Duration.ofSeconds(10);

  private SandboxFileSystem sandboxFs;
  private IoOutputStream stderr;

  /** Set once a version-select was refused: the channel is closing, nothing more is answered. */
  private volatile boolean ending;

  SandboxSftpSubsystem(ChannelSession channel, SftpSubsystemConfigurator configurator) {
    super(channel, configurator);
  }

  /** Keeps a sandbox filesystem for {@link #run}: resolving its home now would block I/O. */
  @Override
  public void setFileSystem(FileSystem fileSystem) {
    if (fileSystem instanceof SandboxFileSystem fs) {
      this.sandboxFs = fs;
    } else {
      super.setFileSystem(fileSystem);
    }
  }

  /** Replies go out a channel packet at a time (see {@link PacketFillingOutputStream}). */
  @Override
  public void setIoOutputStream(IoOutputStream out) {
    ChannelSession channel = getServerChannelSession();
    long channelId = channel.getChannelId();
    this.out =
        new PacketFillingOutputStream(
            "sftp-out@" + channelId,
            channelId,
            out,
            () -> OutputPackets.maxSize(channel),
            CoreModuleProperties.BUFFERED_IO_OUTPUT_MAX_PENDING_WRITE_SIZE.getRequired(channel),
            CoreModuleProperties.BUFFERED_IO_OUTPUT_MAX_PENDING_WRITE_WAIT.getRequired(channel));
  }

  @Override
  public void setIoErrorStream(IoOutputStream err) {
    super.setIoErrorStream(err);
    this.stderr = err;
  }

  /**
   * Reaches the sandbox, then serves requests; an unreachable sandbox ends the channel with its
   * line.
   */
  @Override
  public void run() {
    if (sandboxFs != null) {
      try {
        SessionContext.of(getServerSession()).recordChannel("sftp");
        sandboxFs.connect();
        super.setFileSystem(sandboxFs);
      } catch (IOException | RuntimeException e) {
        failBeforeStart(e.getMessage());
        return;
      }
    }
    try {
      super.run();
    } finally {
      if (sandboxFs != null) {
        // Handles MINA did not close (a channel that ended abruptly) end their agent streams here.
        sandboxFs.close();
      }
    }
  }

  private void failBeforeStart(String line) {
    try {
      if (stderr != null) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        stderr.writeBuffer(new ByteArrayBuffer(bytes)).verify(STDERR_TIMEOUT);
      }
    } catch (IOException | RuntimeException e) {
      log.debug("could not tell the client why sftp failed: {}", e.toString());
    }
    callback.onExit(255, false);
  }

  /**
   * Commits a handle's writes once the client has no more requests in flight: while it pipelines,
   * writes stream to the agent without a round trip each; when it pauses (sshfs after a write(2), a
   * client waiting for its acks), the data is on disk before the last write is acknowledged, as
   * with sftp-server, and an error of the agent (a full disk) is that write's status.
   */
  @Override
  protected void doWrite(
      int id, String handle, long offset, int length, byte[] data, int doff, int remaining)
      throws IOException {
    super.doWrite(id, handle, offset, length, data, doff, remaining);
    if (requests.isEmpty()
        && validateHandle(handle, handles.get(handle), FileHandle.class).getFileChannel()
            instanceof SandboxFileChannel channel) {
      channel.commitWrites();
    }
  }

  /**
   * {@code version-select} as MINA answers it, except when it refuses: the extension says the
   * server then "MUST close the channel", but MINA closes the whole SSH connection, and with it the
   * client's other channels (its shells, forwards and other transfers, every session multiplexed by
   * a ControlMaster). Here only this channel ends, after the refusal reached the client: MINA
   * queues replies in a buffered stream that a channel's close does not wait for. No request after
   * the refused one is answered.
   */
  @Override
  protected void doVersionSelect(Buffer buffer, int id, String proposed) throws IOException {
    boolean first = requestsCount.get() == 0L;
    Boolean supported = first ? validateProposedVersion(buffer, id, proposed) : Boolean.FALSE;
    if (Boolean.TRUE.equals(supported)) {
      version = Integer.parseInt(proposed);
      sendStatus(prepareReply(buffer), id, SftpConstants.SSH_FX_OK, "");
      return;
    }
    if (supported != null) { // null: validateProposedVersion has answered already
      sendStatus(
          prepareReply(buffer),
          id,
          SftpConstants.SSH_FX_FAILURE,
          first
              ? "Unsupported version " + proposed
              : "Version selection not the 1st request for proposal = " + proposed);
    }
    ending = true;
    ChannelSession channel = getServerChannelSession();
    out.close(false).addListener(closed -> channel.close(false));
  }

  @Override
  protected void doProcess(Buffer buffer, int length, int type, int id) throws IOException {
    if (!ending) {
      super.doProcess(buffer, length, type, id);
    }
  }

  @Override
  protected void executeExtendedCommand(Buffer buffer, int id, String extension)
      throws IOException {
    if (REFUSED.contains(extension)) {
      doUnsupportedExtension(buffer, id, extension);
      return;
    }
    switch (extension) {
      case STATVFS, FSTATVFS -> doStatvfs(buffer, id, extension);
      case EXPAND_PATH -> doExpandPath(buffer, id);
      default -> super.executeExtendedCommand(buffer, id, extension);
    }
  }

  private void doStatvfs(Buffer buffer, int id, String extension) throws IOException {
    String target = buffer.getString();
    FileSystemStats s;
    try {
      Path path =
          extension.equals(FSTATVFS)
              ? validateHandle(target, handles.get(target), FileHandle.class).getFile()
              : resolveFile(target);
      s = new SandboxFileStore((SandboxPath) path).stats();
    } catch (IOException | RuntimeException e) {
      sendStatus(prepareReply(buffer), id, e, SftpConstants.SSH_FXP_EXTENDED, extension);
      return;
    }
    Buffer reply = prepareReply(buffer);
    reply.putByte((byte) SftpConstants.SSH_FXP_EXTENDED_REPLY);
    reply.putInt(id);
    for (long v :
        new long[] {
          s.blockSize(),
          s.fragmentSize(),
          s.blocks(),
          s.blocksFree(),
          s.blocksAvailable(),
          s.files(),
          s.filesFree(),
          s.filesAvailable(),
          s.fsid(),
          s.flags(),
          s.nameMax()
        }) {
      reply.putLong(v);
    }
    send(reply);
  }

  /** realpath with a leading {@code ~} or {@code ~/} meaning the sandbox user's home. */
  private void doExpandPath(Buffer buffer, int id) throws IOException {
    String path = buffer.getString();
    if (path.startsWith("~") && !path.equals("~") && !path.startsWith("~/")) {
      sendStatus(
          prepareReply(buffer),
          id,
          SftpConstants.SSH_FX_NO_SUCH_FILE,
          "~user is not known in a sandbox: " + path);
      return;
    }
    String relative = path.equals("~") ? "." : path.startsWith("~/") ? path.substring(2) : path;
    // Relative paths start at the home: answer as realpath would for the expanded path.
    Buffer realpath = new ByteArrayBuffer();
    realpath.putString(relative.isEmpty() ? "." : relative);
    doRealPath(realpath, id);
  }

  /**
   * As MINA's, without its WARN for every attribute the sandbox refused (a chmod of a read-only
   * file): a client could fill the gateway's log at will. The audit log records the refusal, as it
   * does every other refused file operation, none of which is a warning either.
   */
  @Override
  protected void handleSetFileAttributeFailure(
      Path file,
      String view,
      String attribute,
      Object value,
      Collection<String> unsupported,
      Exception e)
      throws IOException {
    if (e instanceof UnsupportedOperationException) {
      unsupported.add(attribute);
      return;
    }
    log.debug("set {}:{} on {} refused: {}", view, attribute, file, e.getMessage());
    throw e instanceof IOException io ? io : new IOException(e);
  }
}
