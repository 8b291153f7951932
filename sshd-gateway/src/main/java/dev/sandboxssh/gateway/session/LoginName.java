package dev.sandboxssh.gateway.session;

import java.util.regex.Pattern;

/**
 * What an SSH user name asks for (DESIGN.md, "SSH user names"): {@code BASE} alone (a sandbox, or
 * an owner's list of sandboxes), or {@code BASE+NAME}, {@code BASE+NAME+ro}, {@code BASE+ps},
 * {@code BASE+PID} and {@code BASE+PID+ro} on a sandbox.
 *
 * <p>{@code +} is the separator because it is legal in neither sandbox ids (DNS labels) nor owner
 * names, needs no quoting in a shell, in {@code ~/.ssh/config}, in VS Code's host field or in an
 * scp {@code user@host:path}, and OpenSSH passes it through unchanged ({@code @} and {@code :}
 * would be taken by scp, {@code %} is expanded by ssh).
 *
 * <p>Only the base decides who may log in, so a malformed suffix is not an authentication failure:
 * the session that follows ends with {@link #problem()} on stderr.
 *
 * @param base the sandbox id or owner name before the first {@code +}
 * @param form what follows it
 * @param session the session name, for {@link Form#NAMED}
 * @param pid the process id, for {@link Form#PROCESS}
 * @param readOnly whether the client may only watch ({@code +ro})
 * @param problem for {@link Form#INVALID}, why the suffix was refused
 */
public record LoginName(
    String base, Form form, String session, int pid, boolean readOnly, String problem) {

  /** The forms of a user name. */
  public enum Form {
    /** {@code BASE}: the sandbox with sshd semantics, or the owner's sandboxes. */
    PLAIN,
    /** {@code BASE+NAME}: the named session that survives disconnects. */
    NAMED,
    /** {@code BASE+ps}: the sandbox's process table. */
    PROCESS_TABLE,
    /** {@code BASE+PID}: a running process, attached by pid. */
    PROCESS,
    /** A suffix that is none of the above. */
    INVALID
  }

  /** The word after {@code +} that lists processes rather than naming a session. */
  public static final String PROCESS_TABLE_WORD = "ps";

  /** The last word that makes an attach read-only. */
  public static final String READ_ONLY_WORD = "ro";

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern DIGITS = Pattern.compile("[0-9]+");

  /** Parses an SSH user name; never fails (see {@link Form#INVALID}). */
  public static LoginName parse(String user) {
    String[] parts = user.split("\\+", -1);
    String base = parts[0];
    if (parts.length == 1) {
      return new LoginName(base, Form.PLAIN, null, 0, false, null);
    }
    boolean readOnly = parts.length == 3 && READ_ONLY_WORD.equals(parts[2]);
    if (parts.length > 3 || (parts.length == 3 && !readOnly)) {
      return invalid(
          base, "a user name is SANDBOX, SANDBOX+NAME, SANDBOX+NAME+ro, SANDBOX+ps or SANDBOX+PID");
    }
    String word = parts[1];
    if (PROCESS_TABLE_WORD.equals(word)) {
      return readOnly
          ? invalid(base, "+ps takes no +ro")
          : new LoginName(base, Form.PROCESS_TABLE, null, 0, false, null);
    }
    if (DIGITS.matcher(word).matches()) {
      // All digits is a pid, never a session name.
      long pid = word.length() > 10 ? -1 : Long.parseLong(word);
      return pid < 1 || pid > Integer.MAX_VALUE
          ? invalid(base, "no process can have pid " + word)
          : new LoginName(base, Form.PROCESS, null, (int) pid, readOnly, null);
    }
    if (!DNS_LABEL.matcher(word).matches()) {
      return invalid(
          base,
          "bad session name '"
              + printable(word)
              + "': a session name is 1-63 lowercase letters, digits and inner dashes");
    }
    return new LoginName(base, Form.NAMED, word, 0, readOnly, null);
  }

  private static LoginName invalid(String base, String problem) {
    return new LoginName(base, Form.INVALID, null, 0, false, problem);
  }

  private static String printable(String s) {
    String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return cut.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
