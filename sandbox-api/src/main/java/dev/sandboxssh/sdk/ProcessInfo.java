package dev.sandboxssh.sdk;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A running process, as {@link Commands#list()} reports it.
 *
 * @param cmd the program really started: "/bin/bash" for a command line
 * @param args its arguments, e.g. ["-l", "-c", "sleep 300"]
 * @param attached how many callers receive its output now
 * @param handedOff whether its stdio went to the caller that started it, so that another caller
 *     attached to it sees no output
 */
public record ProcessInfo(
    int pid,
    String tag,
    String cmd,
    List<String> args,
    Map<String, String> envs,
    String cwd,
    boolean pty,
    boolean background,
    Instant startedAt,
    int attached,
    boolean handedOff) {}
