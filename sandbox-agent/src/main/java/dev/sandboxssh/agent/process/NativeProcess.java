package dev.sandboxssh.agent.process;

import com.google.protobuf.ByteString;
import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.ptr.IntByReference;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A child process the agent spawned itself, in its own session and process group, with pipes or a
 * pseudo-terminal, and reaped by its own thread so that the raw wait status survives.
 */
final class NativeProcess {
  private static final LibC C = LibC.INSTANCE;

  /** Enough for glibc's posix_spawn_file_actions_t (80 bytes) and posix_spawnattr_t (336). */
  private static final int OPAQUE_STRUCT_BYTES = 1024;

  private static final int SIGSET_BYTES = 128;
  private static final int TERMIOS_BYTES = 60;
  private static final int TERMIOS_CC_OFFSET = 17;
  private static final int VEOF = 4;

  private final int pid;
  private final boolean pty;
  private final int inFd;
  private final FdInputStream stdout;
  private final FdInputStream stderr;
  private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
  private boolean reaped; // guarded by this
  private boolean stdinClosed; // guarded by this
  // Native memory that input chunks are copied into once on their way to write(2); a byte[]
  // would cost a copy out of the message and another into JNA's native buffer.
  private Memory staging; // guarded by stagingLock
  private final Object stagingLock = new Object();
  private static final int STAGING_BYTES = 256 * 1024;

  private NativeProcess(int pid, boolean pty, int inFd, int outFd, int errFd) {
    this.pid = pid;
    this.pty = pty;
    this.inFd = inFd;
    this.stdout = new FdInputStream(outFd, pty);
    this.stderr = errFd < 0 ? null : new FdInputStream(errFd, false);
    Thread reaper = new Thread(this::reap, "reaper-" + pid);
    reaper.setDaemon(true);
    reaper.start();
  }

  /** Spawns {@code argv} with stdin, stdout and stderr on pipes. */
  static NativeProcess spawnPipes(List<String> argv, Map<String, String> env, Path cwd)
      throws IOException {
    int[] in = pipe();
    int[] out = pipe();
    int[] err = pipe();
    widen(in[1]);
    widen(out[0]);
    widen(err[0]);
    try (Spawn spawn = new Spawn(cwd)) {
      spawn.dup2(in[0], 0);
      spawn.dup2(out[1], 1);
      spawn.dup2(err[1], 2);
      int pid = spawn.run(argv, env);
      return new NativeProcess(pid, false, in[1], out[0], err[0]);
    } finally {
      // The child's ends live on in the child only.
      C.close(in[0]);
      C.close(out[1]);
      C.close(err[1]);
    }
  }

  /**
   * Spawns {@code argv} on a new pseudo-terminal of {@code cols} x {@code rows}, which becomes its
   * controlling terminal, with the given terminal modes (POSIX names as in RFC 4254 section 8); a
   * non-empty {@code pathEnv} names a variable set to the terminal's path.
   */
  static NativeProcess spawnPty(
      List<String> argv,
      Map<String, String> env,
      Path cwd,
      int cols,
      int rows,
      Map<String, Integer> modes,
      String pathEnv)
      throws IOException {
    int master;
    String slaveName;
    int slave;
    try {
      master = C.posix_openpt(LibC.O_RDWR | 0400 /* O_NOCTTY */ | LibC.O_CLOEXEC);
      C.grantpt(master);
      C.unlockpt(master);
      byte[] name = new byte[128];
      if (C.ptsname_r(master, name, new NativeLong(name.length)) != 0) {
        C.close(master);
        throw new IOException("ptsname_r failed");
      }
      slaveName = new String(name, StandardCharsets.US_ASCII).split("\0", 2)[0];
      slave = C.open(slaveName, LibC.O_RDWR | 0400 | LibC.O_CLOEXEC);
    } catch (LastErrorException e) {
      throw new IOException("cannot allocate a pseudo-terminal: errno " + e.getErrorCode());
    }
    try {
      Memory termios = new Memory(TERMIOS_BYTES);
      C.tcgetattr(slave, termios);
      TerminalModes.apply(termios, modes);
      C.tcsetattr(slave, LibC.TCSANOW, termios);
      setWindowSize(master, cols, rows);
      try (Spawn spawn = new Spawn(cwd)) {
        // After setsid (done first by posix_spawn), opening the slave without O_NOCTTY makes it
        // the controlling terminal, so ^C, job control and SIGHUP on hang-up work.
        spawn.open(0, slaveName, LibC.O_RDWR);
        spawn.dup2(0, 1);
        spawn.dup2(0, 2);
        Map<String, String> withPath = env;
        if (!pathEnv.isEmpty()) {
          withPath = new LinkedHashMap<>(env);
          withPath.put(pathEnv, slaveName);
        }
        int pid = spawn.run(argv, withPath);
        return new NativeProcess(pid, true, master, master, -1);
      }
    } catch (LastErrorException e) {
      C.close(master);
      throw new IOException("cannot set up the terminal: errno " + e.getErrorCode());
    } catch (IOException | RuntimeException e) {
      C.close(master);
      throw e;
    } finally {
      C.close(slave);
    }
  }

  int pid() {
    return pid;
  }

  boolean isPty() {
    return pty;
  }

  /** Standard output (the terminal's output for a PTY process). */
  InputStream stdout() {
    return stdout;
  }

  /** Standard error, or null for a PTY process (its stderr is the terminal). */
  InputStream stderr() {
    return stderr;
  }

  /** Completes when the process has been reaped. */
  CompletableFuture<ExitStatus> exit() {
    return exit;
  }

  /**
   * Writes to stdin (the terminal for a PTY process), blocking while the pipe is full; the bytes
   * are copied once, into native memory for write(2).
   */
  void write(ByteString data) throws IOException {
    synchronized (this) {
      if (stdinClosed) {
        throw new IOException("stdin is closed");
      }
    }
    synchronized (stagingLock) {
      if (staging == null) {
        staging = new Memory(STAGING_BYTES);
      }
      for (int off = 0; off < data.size(); ) {
        int n = Math.min(STAGING_BYTES, data.size() - off);
        data.substring(off, off + n).copyTo(staging.getByteBuffer(0, n));
        for (int done = 0; done < n; ) {
          try {
            done += C.write(inFd, staging.share(done), new NativeLong(n - done)).intValue();
          } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.EAGAIN) {
              // A terminal handed to the gateway is non-blocking (it shares the descriptor).
              awaitWritable();
            } else if (e.getErrorCode() != LibC.EINTR) {
              throw new IOException("write to stdin failed: errno " + e.getErrorCode());
            }
          }
        }
        off += n;
      }
    }
  }

  private void awaitWritable() {
    Memory fds = new Memory(8);
    fds.setInt(0, inFd);
    fds.setShort(4, LibC.POLLOUT);
    fds.setShort(6, (short) 0);
    try {
      C.poll(fds, new NativeLong(1), 1000);
    } catch (LastErrorException e) {
      // EINTR: the write is simply tried again.
    }
  }

  /**
   * Closes stdin; for a PTY sends the terminal's EOF character instead (the line discipline's EOF).
   */
  void closeStdin() throws IOException {
    if (pty) {
      Memory termios = new Memory(TERMIOS_BYTES);
      byte eof = 4;
      try {
        C.tcgetattr(inFd, termios);
        eof = termios.getByte(TERMIOS_CC_OFFSET + VEOF);
      } catch (LastErrorException e) {
        // Fall back to ^D.
      }
      write(ByteString.copyFrom(new byte[] {eof}));
      return;
    }
    synchronized (this) {
      if (stdinClosed) {
        return;
      }
      stdinClosed = true;
    }
    C.close(inFd);
  }

  /** Changes the terminal size; the kernel sends SIGWINCH to the foreground process group. */
  void resize(int cols, int rows) throws IOException {
    if (!pty) {
      throw new IllegalStateException("not a PTY process");
    }
    try {
      setWindowSize(inFd, cols, rows);
    } catch (LastErrorException e) {
      throw new IOException("resize failed: errno " + e.getErrorCode());
    }
  }

  /**
   * Sends {@code signal} to the process or its whole group; false when it was already reaped (its
   * pid might belong to someone else by now).
   */
  synchronized boolean signal(int signal, boolean group) {
    if (reaped) {
      return false;
    }
    try {
      C.kill(group ? -pid : pid, signal);
      return true;
    } catch (LastErrorException e) {
      return false;
    }
  }

  /**
   * Copies of the descriptors for a caller that takes the process's stdio itself: stdin, stdout and
   * stderr, or a terminal's master. The agent's own pipe ends are closed at once, so the process
   * sees EOF and SIGPIPE from the caller alone; a terminal's master stays open here too, for resize
   * and for input through the agent.
   */
  int[] handOff() throws IOException {
    int[] copies = pty ? copies(inFd) : copies(inFd, stdout.fd, stderr.fd);
    if (!pty) {
      closeStreams();
    }
    return copies;
  }

  /** Close-on-exec copies of {@code originals}, all or (closing those made) none. */
  static int[] copies(int... originals) throws IOException {
    int[] copies = new int[originals.length];
    Arrays.fill(copies, -1);
    for (int i = 0; i < originals.length; i++) {
      try {
        copies[i] = C.fcntl(originals[i], LibC.F_DUPFD_CLOEXEC, 0);
      } catch (LastErrorException e) {
        release(copies);
        throw new IOException("dup failed: errno " + e.getErrorCode());
      }
    }
    return copies;
  }

  /** Closes descriptors returned by {@link #handOff}; negative entries are skipped. */
  static void release(int[] descriptors) {
    for (int fd : descriptors) {
      if (fd >= 0) {
        C.close(fd);
      }
    }
  }

  /** Closes the agent's ends of the pipes or terminal once nobody reads them. */
  void closeStreams() {
    stdout.close();
    if (stderr != null) {
      stderr.close();
    }
    synchronized (this) {
      if (!pty && !stdinClosed) {
        stdinClosed = true;
        C.close(inFd);
      }
    }
  }

  private void reap() {
    // Wait without reaping first: until the reap below, under the same lock as signal(), the
    // pid cannot be reused, so a signal can never reach some other process that got it.
    Memory info = new Memory(LibC.SIGINFO_BYTES);
    while (true) {
      try {
        C.waitid(LibC.P_PID, pid, info, LibC.WEXITED | LibC.WNOWAIT);
        break;
      } catch (LastErrorException e) {
        if (e.getErrorCode() != LibC.EINTR) {
          break;
        }
      }
    }
    IntByReference status = new IntByReference();
    ExitStatus result;
    synchronized (this) {
      try {
        C.waitpid(pid, status, 0);
        result = ExitStatus.fromWaitStatus(status.getValue());
      } catch (LastErrorException e) {
        result = new ExitStatus(null, null, false);
      }
      reaped = true;
    }
    exit.complete(result);
  }

  private static void setWindowSize(int fd, int cols, int rows) {
    Memory winsize = new Memory(8);
    winsize.setShort(0, (short) rows);
    winsize.setShort(2, (short) cols);
    winsize.setShort(4, (short) 0);
    winsize.setShort(6, (short) 0);
    C.ioctl(fd, new NativeLong(LibC.TIOCSWINSZ), winsize);
  }

  /**
   * Lets a pipe hold a whole chunk, so one read can take what a fast writer produced, and a fast
   * upload rarely finds stdin full; where the kernel refuses (a per-user pipe quota), the default
   * 64 KiB simply stays.
   */
  private static void widen(int fd) {
    try {
      C.fcntl(fd, LibC.F_SETPIPE_SZ, ManagedProcess.CHUNK);
    } catch (LastErrorException e) {
      // Smaller pipes only cost throughput.
    }
  }

  private static int[] pipe() throws IOException {
    int[] fds = new int[2];
    try {
      C.pipe2(fds, LibC.O_CLOEXEC);
    } catch (LastErrorException e) {
      throw new IOException("pipe2 failed: errno " + e.getErrorCode());
    }
    return fds;
  }

  /** One posix_spawn call's file actions and attributes. */
  private static final class Spawn implements AutoCloseable {
    private final Memory actions = new Memory(OPAQUE_STRUCT_BYTES);
    private final Memory attr = new Memory(OPAQUE_STRUCT_BYTES);
    private final Path cwd;

    Spawn(Path cwd) {
      this.cwd = cwd;
      C.posix_spawn_file_actions_init(actions);
      C.posix_spawnattr_init(attr);
    }

    void dup2(int fd, int target) {
      C.posix_spawn_file_actions_adddup2(actions, fd, target);
    }

    void open(int fd, String path, int flags) {
      C.posix_spawn_file_actions_addopen(actions, fd, path, flags, 0);
    }

    int run(List<String> argv, Map<String, String> env) throws IOException {
      String program = resolve(argv.get(0), env.get("PATH"));
      if (cwd != null) {
        C.posix_spawn_file_actions_addchdir_np(actions, cwd.toString());
      }
      // Nothing of the agent's (its gRPC sockets, other children's pipes) leaks into the child.
      C.posix_spawn_file_actions_addclosefrom_np(actions, 3);
      // A new session and process group; default dispositions and an empty mask, whatever the
      // JVM's threads had.
      Memory all = new Memory(SIGSET_BYTES);
      Memory none = new Memory(SIGSET_BYTES);
      C.sigfillset(all);
      C.sigdelset(all, Signals.KILL);
      C.sigdelset(all, 19);
      C.sigemptyset(none);
      C.posix_spawnattr_setsigdefault(attr, all);
      C.posix_spawnattr_setsigmask(attr, none);
      C.posix_spawnattr_setflags(
          attr,
          (short)
              (LibC.POSIX_SPAWN_SETSID | LibC.POSIX_SPAWN_SETSIGDEF | LibC.POSIX_SPAWN_SETSIGMASK));
      String[] envp =
          env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new);
      IntByReference pid = new IntByReference();
      int rc = C.posix_spawn(pid, program, actions, attr, argv.toArray(String[]::new), envp);
      if (rc != 0) {
        throw new IOException(
            "cannot start " + argv.get(0) + ": " + (rc == 2 ? "no such file" : "errno " + rc));
      }
      return pid.getValue();
    }

    @Override
    public void close() {
      C.posix_spawn_file_actions_destroy(actions);
      C.posix_spawnattr_destroy(attr);
    }
  }

  /** Finds {@code program} on {@code path} as execvp would; names with a slash stay as given. */
  static String resolve(String program, String path) throws IOException {
    if (program.contains("/")) {
      return program;
    }
    for (String dir : (path == null ? "/usr/bin:/bin" : path).split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, program);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    throw new IOException("cannot start " + program + ": command not found");
  }

  /** Reads a file descriptor; EOF at end of pipe, or EIO once a terminal's last writer left. */
  private static final class FdInputStream extends InputStream {
    private final int fd;
    private final boolean terminal;
    // Native memory read into directly: JNA would copy a whole byte[] in and out on every call.
    private final Memory staging = new Memory(ManagedProcess.CHUNK);
    private boolean closed; // guarded by this

    FdInputStream(int fd, boolean terminal) {
      this.fd = fd;
      this.terminal = terminal;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int want = (int) Math.min(len, staging.size());
      while (true) {
        synchronized (this) {
          if (closed) {
            return -1;
          }
        }
        try {
          int n = C.read(fd, staging, new NativeLong(want)).intValue();
          if (n == 0) {
            return -1;
          }
          staging.read(0, b, off, n);
          return n;
        } catch (LastErrorException e) {
          if (e.getErrorCode() == LibC.EINTR) {
            continue;
          }
          if (terminal && e.getErrorCode() == LibC.EIO) {
            return -1;
          }
          throw new IOException("read failed: errno " + e.getErrorCode());
        }
      }
    }

    /** Bytes that can be read now without blocking (FIONREAD). */
    @Override
    public int available() {
      IntByReference count = new IntByReference();
      try {
        C.ioctl(fd, new NativeLong(LibC.FIONREAD), count);
        return count.getValue();
      } catch (LastErrorException e) {
        return 0;
      }
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      C.close(fd);
    }
  }
}
