package dev.sandboxssh.gateway.ops;

import dev.sandboxssh.gateway.events.GatewayEvents;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The audit log: one event per login, session, forward, logout and file operation, on the SLF4J
 * logger {@code audit} with its fields as key-value pairs. logback.xml gives that logger a JSON
 * encoder (each pair a top-level field) and {@link AuditAppender}, which writes where {@code
 * audit.file} says; the logger does not pass its events on to the human log.
 *
 * <p>Every line names who: {@code session} (the connection's id), {@code user}, {@code owner},
 * {@code sandbox}, {@code key} and {@code source}, so that one grep answers "who read that file in
 * that sandbox". Client-chosen text (user names, commands, paths) is only ever a JSON string value,
 * which the encoder escapes.
 */
final class AuditLog implements GatewayEvents {
  /** The logger name logback.xml configures. */
  static final String LOGGER = "audit";

  private final Logger log = LoggerFactory.getLogger(LOGGER);

  @Override
  public void loginSucceeded(Who who, String client) {
    event("login", who)
        .addKeyValue("outcome", "success")
        .addKeyValue("client", client)
        .log("login");
  }

  @Override
  public void loginRefused(Who who, String reason) {
    event("login", who)
        .addKeyValue("outcome", "refused")
        .addKeyValue("reason", reason)
        .log("login refused");
  }

  @Override
  public void loggedOut(Who who, Duration duration, long bytesIn, long bytesOut) {
    event("logout", who)
        .addKeyValue("duration_ms", duration.toMillis())
        .addKeyValue("bytes_in", bytesIn)
        .addKeyValue("bytes_out", bytesOut)
        .log("logout");
  }

  @Override
  public void sessionStarted(Who who, String kind, String command, boolean pty) {
    LoggingEventBuilder e = event("session.start", who).addKeyValue("kind", kind);
    if (command != null) {
      e = e.addKeyValue("command", command);
    }
    e.addKeyValue("pty", pty).log("session start");
  }

  @Override
  public void sessionEnded(Who who, String kind, String exit, Duration duration) {
    LoggingEventBuilder e = event("session.end", who).addKeyValue("kind", kind);
    if (exit != null) {
      e = e.addKeyValue("exit", exit);
    }
    e.addKeyValue("duration_ms", duration.toMillis()).log("session end");
  }

  @Override
  public void forwardOpened(Who who, String kind, String target) {
    LoggingEventBuilder e = event("forward", who).addKeyValue("kind", kind);
    if (target != null) {
      e = e.addKeyValue("target", target);
    }
    e.log("forward");
  }

  @Override
  public void fileOperation(
      Who who, String protocol, String op, String path, String to, long bytes, String result) {
    LoggingEventBuilder e =
        event("file", who)
            .addKeyValue("protocol", protocol)
            .addKeyValue("op", op)
            .addKeyValue("path", path);
    if (to != null) {
      e = e.addKeyValue("to", to);
    }
    e.addKeyValue("bytes", bytes).addKeyValue("result", result).log("file");
  }

  private LoggingEventBuilder event(String name, Who who) {
    LoggingEventBuilder e = log.atInfo().addKeyValue("event", name);
    // Always in the same order, each present only when known: a refused login has no owner.
    e = put(e, "session", who.session());
    e = put(e, "user", who.user());
    e = put(e, "owner", who.owner());
    e = put(e, "sandbox", who.sandbox());
    e = put(e, "key", who.key());
    return put(e, "source", who.source());
  }

  private static LoggingEventBuilder put(LoggingEventBuilder e, String key, String value) {
    return value == null ? e : e.addKeyValue(key, value);
  }
}
