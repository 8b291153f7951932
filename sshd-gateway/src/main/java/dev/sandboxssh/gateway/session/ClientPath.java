package dev.sandboxssh.gateway.session;

import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.session.Session;

/**
 * The network path to a connection's client, and how much of a channel's window the gateway fills
 * on it.
 *
 * <p>Why not all of it: what the gateway sends beyond what the path holds in flight cannot arrive
 * any sooner; it waits in queues, most of them the client's. OpenSSH's client reads up to 256 KiB
 * of packets at a time and grows the buffer that holds their data for its reader (sftp, a pipe, a
 * forwarded socket) an append at a time, each time into a new allocation with the whole buffer
 * copied. With the whole 2 MiB window of an sftp download queued for it on loopback, the client
 * spent twice the CPU per byte it spent with 512 KiB in flight, at thirteen times the page faults,
 * and on a shared machine that CPU was what held the transfer back (sftp get, aes128-gcm: 242 MB/s
 * against sshd's 340 in one check; 359 against 351 with 512 KiB in flight). So a channel keeps in
 * flight what its path needs at {@link #RATE} over twice the lowest round trip TCP has seen on the
 * connection, and at least {@link #MIN_IN_FLIGHT}: all of OpenSSH's window from a round trip of
 * about 1 ms up, so a distant client is never slowed.
 *
 * <p>And always half the window and one packet more: many clients (JSch, PuTTY, libssh, Dropbear,
 * AsyncSSH) reopen their window only once less than half of it is left, and one that sees more than
 * half left waits for data the gateway would not send (JSch's sftp get hung so). For OpenSSH's 2
 * MiB window that keeps 1 MiB and 32 KiB in flight on loopback: in the check above, 297 MB/s
 * against sshd's 282 at 1 MiB, the client at 0.85 CPU seconds against 1.06.
 */
public final class ClientPath {
  /** The session attribute holding the path. */
  public static final AttributeKey<ClientPath> KEY = new AttributeKey<>();

  /** The least a channel keeps in flight, whatever the round trip. */
  public static final long MIN_IN_FLIGHT = 512 * 1024;

  /** The rate, in bytes a second, a channel's window allows for over the path's round trip. */
  public static final long RATE = 1L << 30;

  private final Supplier<OptionalLong> minRttMicros;

  /** A path whose lowest round trip so far {@code minRttMicros} gives (empty when unknown). */
  public ClientPath(Supplier<OptionalLong> minRttMicros) {
    this.minRttMicros = minRttMicros;
  }

  /**
   * How much of the window {@code announced} by the client for a channel with packets of up to
   * {@code packetSize} the gateway uses: all of it when the round trip is unknown or long enough to
   * need it.
   */
  public long windowToUse(long announced, long packetSize) {
    OptionalLong rtt = minRttMicros.get();
    if (rtt.isEmpty()) {
      return announced;
    }
    // Twice the round trip: the window reopens only once the client has read and said so.
    long needed = Math.max(MIN_IN_FLIGHT, 2 * rtt.getAsLong() * (RATE / 1_000_000));
    long reopens = announced / 2 + packetSize;
    return Math.min(announced, Math.max(needed, reopens));
  }

  /** {@link #windowToUse} for a channel of {@code session}; the whole window without a path. */
  public static long windowToUse(Session session, long announced, long packetSize) {
    ClientPath path = session.getAttribute(KEY);
    return path == null ? announced : path.windowToUse(announced, packetSize);
  }
}
