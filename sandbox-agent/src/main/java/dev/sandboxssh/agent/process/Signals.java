package dev.sandboxssh.agent.process;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** POSIX signal names (without SIG) and their Linux numbers on x86_64 and aarch64. */
final class Signals {
  static final int HUP = 1;
  static final int KILL = 9;

  private static final Map<String, Integer> NUMBERS = new TreeMap<>();

  static {
    String[] names = {
      null, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
      "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
      "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"
    };
    for (int i = 1; i < names.length; i++) {
      NUMBERS.put(names[i], i);
    }
    NUMBERS.put("IOT", 6);
    NUMBERS.put("POLL", 29);
  }

  private Signals() {}

  /** The number of a signal named with or without "SIG", any case; -1 when unknown. */
  static int number(String name) {
    if (name == null) {
      return -1;
    }
    String n = name.toUpperCase(Locale.ROOT);
    if (n.startsWith("SIG")) {
      n = n.substring(3);
    }
    return NUMBERS.getOrDefault(n, -1);
  }

  /** The name of a signal number ("TERM"), or "SIG" + the number for real-time signals. */
  static String name(int number) {
    for (Map.Entry<String, Integer> e : NUMBERS.entrySet()) {
      if (e.getValue() == number && !e.getKey().equals("IOT") && !e.getKey().equals("POLL")) {
        return e.getKey();
      }
    }
    return "SIG" + number;
  }
}
