package dev.sandboxssh.agent.process;

/**
 * How a process ended, decoded from its raw wait status.
 *
 * @param code the exit status 0..255, or null when a signal killed it
 * @param signal the name of that signal ("TERM", "KILL"...), or null
 */
record ExitStatus(Integer code, String signal, boolean coreDumped) {

  /** Decodes a {@code waitpid} status (Linux layout). */
  static ExitStatus fromWaitStatus(int status) {
    int termSignal = status & 0x7f;
    if (termSignal == 0) {
      return new ExitStatus((status >> 8) & 0xff, null, false);
    }
    return new ExitStatus(null, Signals.name(termSignal), (status & 0x80) != 0);
  }
}
