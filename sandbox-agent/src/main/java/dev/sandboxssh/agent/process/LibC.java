package dev.sandboxssh.agent.process;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * The few libc calls the agent makes itself (glibc, Linux x86_64/aarch64).
 *
 * <p>Why not {@link ProcessBuilder}: it reports a child killed by signal N as exit status 128+N,
 * the same as a child that called {@code exit(128+N)}, and SSH must tell them apart (exit-status
 * versus exit-signal). Spawning with {@code posix_spawn} and reaping with our own {@code waitpid}
 * keeps the raw wait status. {@code posix_spawn} (vfork-based in glibc) is safe in a multi-threaded
 * JVM, as the JDK's own process launcher relies on.
 */
interface LibC extends Library {
  LibC INSTANCE = Native.load("c", LibC.class);

  int O_RDWR = 2;
  int O_CLOEXEC = 02000000;
  short POSIX_SPAWN_SETSIGDEF = 0x04;
  short POSIX_SPAWN_SETSIGMASK = 0x08;
  short POSIX_SPAWN_SETSID = 0x80;
  int EINTR = 4;
  int EIO = 5;
  int ECHILD = 10;
  int ESRCH = 3;
  long TIOCSWINSZ = 0x5414;
  int TCSANOW = 0;

  int posix_spawn_file_actions_init(Pointer actions);

  int posix_spawn_file_actions_destroy(Pointer actions);

  int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newFd);

  int posix_spawn_file_actions_addclose(Pointer actions, int fd);

  int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int flags, int mode);

  int posix_spawn_file_actions_addchdir_np(Pointer actions, String path);

  int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);

  int posix_spawnattr_init(Pointer attr);

  int posix_spawnattr_destroy(Pointer attr);

  int posix_spawnattr_setflags(Pointer attr, short flags);

  int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

  int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

  int sigemptyset(Pointer set);

  int sigfillset(Pointer set);

  int sigdelset(Pointer set, int signal);

  int posix_spawn(
      IntByReference pid, String path, Pointer actions, Pointer attr, String[] argv, String[] envp);

  int pipe2(int[] fds, int flags) throws LastErrorException;

  NativeLong read(int fd, Pointer buffer, NativeLong count) throws LastErrorException;

  long FIONREAD = 0x541B;

  int ioctl(int fd, NativeLong request, IntByReference argument) throws LastErrorException;

  NativeLong write(int fd, Pointer buffer, NativeLong count) throws LastErrorException;

  int close(int fd);

  int EAGAIN = 11;
  short POLLOUT = 0x004;

  int poll(Pointer fds, NativeLong count, int timeoutMillis) throws LastErrorException;

  int F_SETPIPE_SZ = 1031;
  int F_DUPFD_CLOEXEC = 1030;

  int fcntl(int fd, int command, int argument) throws LastErrorException;

  int waitpid(int pid, IntByReference status, int options) throws LastErrorException;

  int P_PID = 1;
  int WEXITED = 4;
  int WNOWAIT = 0x01000000;
  int SIGINFO_BYTES = 128;

  int waitid(int idType, int id, Pointer info, int options) throws LastErrorException;

  int kill(int pid, int signal) throws LastErrorException;

  int posix_openpt(int flags) throws LastErrorException;

  int grantpt(int fd) throws LastErrorException;

  int unlockpt(int fd) throws LastErrorException;

  int ptsname_r(int fd, byte[] buffer, NativeLong length);

  int ioctl(int fd, NativeLong request, Pointer argument) throws LastErrorException;

  int tcgetattr(int fd, Pointer termios) throws LastErrorException;

  int tcsetattr(int fd, int action, Pointer termios) throws LastErrorException;

  int open(String path, int flags) throws LastErrorException;
}
