package dev.sandboxssh.agent.process;

import com.sun.jna.Memory;
import java.util.Map;

/**
 * Applies SSH terminal modes (RFC 4254 section 8, by POSIX name) to a Linux {@code struct termios}:
 * control characters and the flags the line discipline honours. Names Linux does not know are
 * ignored, as the RFC asks.
 */
final class TerminalModes {
  private static final int IFLAG = 0;
  private static final int OFLAG = 4;
  private static final int CFLAG = 8;
  private static final int LFLAG = 12;
  private static final int CC = 17;

  /** RFC 4254: 255 disables a control character; Linux spells that _POSIX_VDISABLE = 0. */
  private static final int SSH_DISABLED = 255;

  private static final Map<String, Integer> CONTROL_CHARS =
      Map.ofEntries(
          Map.entry("VINTR", 0),
          Map.entry("VQUIT", 1),
          Map.entry("VERASE", 2),
          Map.entry("VKILL", 3),
          Map.entry("VEOF", 4),
          Map.entry("VSTART", 8),
          Map.entry("VSTOP", 9),
          Map.entry("VSUSP", 10),
          Map.entry("VEOL", 11),
          Map.entry("VREPRINT", 12),
          Map.entry("VDISCARD", 13),
          Map.entry("VWERASE", 14),
          Map.entry("VLNEXT", 15),
          Map.entry("VEOL2", 16));

  /** Flag name to {offset of its word, bit}. */
  private static final Map<String, int[]> FLAGS =
      Map.ofEntries(
          Map.entry("IGNPAR", new int[] {IFLAG, 0000004}),
          Map.entry("PARMRK", new int[] {IFLAG, 0000010}),
          Map.entry("INPCK", new int[] {IFLAG, 0000020}),
          Map.entry("ISTRIP", new int[] {IFLAG, 0000040}),
          Map.entry("INLCR", new int[] {IFLAG, 0000100}),
          Map.entry("IGNCR", new int[] {IFLAG, 0000200}),
          Map.entry("ICRNL", new int[] {IFLAG, 0000400}),
          Map.entry("IUCLC", new int[] {IFLAG, 0001000}),
          Map.entry("IXON", new int[] {IFLAG, 0002000}),
          Map.entry("IXANY", new int[] {IFLAG, 0004000}),
          Map.entry("IXOFF", new int[] {IFLAG, 0010000}),
          Map.entry("IMAXBEL", new int[] {IFLAG, 0020000}),
          Map.entry("IUTF8", new int[] {IFLAG, 0040000}),
          Map.entry("ISIG", new int[] {LFLAG, 0000001}),
          Map.entry("ICANON", new int[] {LFLAG, 0000002}),
          Map.entry("XCASE", new int[] {LFLAG, 0000004}),
          Map.entry("ECHO", new int[] {LFLAG, 0000010}),
          Map.entry("ECHOE", new int[] {LFLAG, 0000020}),
          Map.entry("ECHOK", new int[] {LFLAG, 0000040}),
          Map.entry("ECHONL", new int[] {LFLAG, 0000100}),
          Map.entry("NOFLSH", new int[] {LFLAG, 0000200}),
          Map.entry("TOSTOP", new int[] {LFLAG, 0000400}),
          Map.entry("ECHOCTL", new int[] {LFLAG, 0001000}),
          Map.entry("ECHOKE", new int[] {LFLAG, 0004000}),
          Map.entry("PENDIN", new int[] {LFLAG, 0040000}),
          Map.entry("IEXTEN", new int[] {LFLAG, 0100000}),
          Map.entry("OPOST", new int[] {OFLAG, 0000001}),
          Map.entry("OLCUC", new int[] {OFLAG, 0000002}),
          Map.entry("ONLCR", new int[] {OFLAG, 0000004}),
          Map.entry("OCRNL", new int[] {OFLAG, 0000010}),
          Map.entry("ONOCR", new int[] {OFLAG, 0000020}),
          Map.entry("ONLRET", new int[] {OFLAG, 0000040}),
          Map.entry("CS7", new int[] {CFLAG, 0000040}),
          Map.entry("CS8", new int[] {CFLAG, 0000060}),
          Map.entry("PARENB", new int[] {CFLAG, 0000400}),
          Map.entry("PARODD", new int[] {CFLAG, 0001000}));

  private TerminalModes() {}

  /** Writes {@code modes} into the termios at {@code termios}. */
  static void apply(Memory termios, Map<String, Integer> modes) {
    for (Map.Entry<String, Integer> mode : modes.entrySet()) {
      int value = mode.getValue();
      Integer index = CONTROL_CHARS.get(mode.getKey());
      if (index != null) {
        termios.setByte(CC + index, (byte) (value == SSH_DISABLED ? 0 : value));
        continue;
      }
      int[] flag = FLAGS.get(mode.getKey());
      if (flag != null) {
        int word = termios.getInt(flag[0]);
        termios.setInt(flag[0], value != 0 ? word | flag[1] : word & ~flag[1]);
      }
    }
  }
}
