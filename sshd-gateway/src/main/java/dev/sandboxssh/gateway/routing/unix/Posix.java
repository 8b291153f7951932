package dev.sandboxssh.gateway.routing.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * The libc calls of this package (Linux): taking and using a handed-off process's descriptors,
 * reading a connection's TCP_INFO, and locking uid claims.
 */
interface Posix extends Library {
  Posix C = Native.load("c", Posix.class);

  int AF_UNIX = 1;
  int SOCK_STREAM = 1;
  int SOCK_CLOEXEC = 02000000;
  int SOL_SOCKET = 1;
  int SCM_RIGHTS = 1;
  int SO_RCVTIMEO = 20;
  int MSG_CMSG_CLOEXEC = 0x40000000;
  int MSG_CTRUNC = 0x08;
  int O_RDWR = 02;
  int O_CREAT = 0100;
  int O_PATH = 010000000;
  int O_NOFOLLOW = 0400000;
  int O_CLOEXEC = 02000000;
  int O_NONBLOCK = 04000;
  int F_GETFL = 3;
  int F_SETFL = 4;
  int EFD_CLOEXEC = 02000000;
  int EFD_NONBLOCK = 04000;
  short POLLIN = 0x001;
  short POLLOUT = 0x004;
  int EINTR = 4;
  int EIO = 5;
  int EAGAIN = 11;
  int EACCES = 13;

  int SHUT_WR = 1;

  int socket(int domain, int type, int protocol) throws LastErrorException;

  int shutdown(int fd, int how) throws LastErrorException;

  int connect(int fd, Pointer address, int length) throws LastErrorException;

  int setsockopt(int fd, int level, int name, Pointer value, int length) throws LastErrorException;

  int getsockopt(int fd, int level, int name, Pointer value, IntByReference length)
      throws LastErrorException;

  NativeLong recvmsg(int fd, Pointer message, int flags) throws LastErrorException;

  int open(String path, int flags) throws LastErrorException;

  int open(String path, int flags, int mode) throws LastErrorException;

  NativeLong read(int fd, Pointer buffer, NativeLong count) throws LastErrorException;

  NativeLong write(int fd, Pointer buffer, NativeLong count) throws LastErrorException;

  int poll(Pointer fds, NativeLong count, int timeoutMillis) throws LastErrorException;

  int eventfd(int initial, int flags) throws LastErrorException;

  int fcntl(int fd, int command, int argument) throws LastErrorException;

  int fcntl(int fd, int command, Pointer argument) throws LastErrorException;

  int close(int fd);

  int SEEK_END = 2;

  NativeLong pread(int fd, Pointer buffer, NativeLong count, long offset) throws LastErrorException;

  NativeLong pwrite(int fd, Pointer buffer, NativeLong count, long offset)
      throws LastErrorException;

  long lseek(int fd, long offset, int whence) throws LastErrorException;

  int ftruncate(int fd, long length) throws LastErrorException;

  int fsync(int fd) throws LastErrorException;
}
