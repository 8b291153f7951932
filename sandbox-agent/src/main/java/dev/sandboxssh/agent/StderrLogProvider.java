package dev.sandboxssh.agent;

import java.io.PrintStream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * Logging for an agent the gateway started, chosen with {@code -Dslf4j.provider=} this class: one
 * plain line per event on stderr, which the gateway logs under its own timestamp and the sandbox
 * id, so a line carries neither. Written out here rather than configured in logback because
 * logback's start (service lookups, annotation proxies, a pattern parser) took 50-65 ms of a cold
 * agent's 150 ms from main to listening, on the way of a user's first login.
 */
public final class StderrLogProvider implements SLF4JServiceProvider {
  private final LoggerFactory loggers = new LoggerFactory(System.err);
  private final IMarkerFactory markers = new BasicMarkerFactory();
  private final MDCAdapter mdc = new NOPMDCAdapter();

  @Override
  public ILoggerFactory getLoggerFactory() {
    return loggers;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return markers;
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return mdc;
  }

  @Override
  public String getRequestedApiVersion() {
    return "2.0.99";
  }

  @Override
  public void initialize() {}

  /** The least level a logger of this name writes: INFO, quieter for gRPC and its netty. */
  static Level threshold(String name) {
    // Netty warns that unix sockets have no SO_KEEPALIVE; gRPC keepalives do that job.
    if (name.startsWith("io.grpc.netty.shaded.io.netty")) {
      return Level.ERROR;
    }
    if (name.startsWith("io.grpc")) {
      return Level.WARN;
    }
    return Level.INFO;
  }

  /**
   * A class name shortened to {@code max} characters where it can be, by cutting its leftmost
   * package names to their first letter, as logback's {@code %logger{24}} does.
   */
  static String abbreviate(String name, int max) {
    if (name.length() <= max) {
      return name;
    }
    String[] parts = name.split("\\.", -1);
    int length = name.length();
    StringBuilder out = new StringBuilder(max);
    for (int i = 0; i < parts.length - 1; i++) {
      String part = parts[i];
      if (length > max && part.length() > 1) {
        length -= part.length() - 1;
        out.append(part, 0, 1);
      } else {
        out.append(part);
      }
      out.append('.');
    }
    return out.append(parts[parts.length - 1]).toString();
  }

  /**
   * One event as the gateway reads it: level, short logger name, the message on one line (a message
   * with line breaks must not forge the gateway's next log line), and for a throwable its own line
   * and the frame it came from.
   */
  static String line(Level level, String name, String message, Throwable thrown) {
    StringBuilder out = new StringBuilder(96);
    String levelName = level.name();
    out.append(levelName).append(" ".repeat(Math.max(0, 5 - levelName.length())));
    out.append(' ').append(abbreviate(name, 24)).append(" - ");
    out.append(oneLine(message)).append('\n');
    if (thrown != null) {
      out.append(oneLine(thrown.toString())).append('\n');
      StackTraceElement[] trace = thrown.getStackTrace();
      if (trace.length > 0) {
        out.append("\tat ").append(trace[0]).append('\n');
      }
    }
    return out.toString();
  }

  private static String oneLine(String text) {
    return text == null ? "null" : text.replaceAll("[\\r\\n]+", " ");
  }

  private static final class LoggerFactory implements ILoggerFactory {
    private final ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();
    private final PrintStream out;

    LoggerFactory(PrintStream out) {
      this.out = out;
    }

    @Override
    public Logger getLogger(String name) {
      return loggers.computeIfAbsent(name, n -> new StderrLogger(n, threshold(n), out));
    }
  }

  private static final class StderrLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;
    private final int threshold;
    private final transient PrintStream out;

    StderrLogger(String name, Level threshold, PrintStream out) {
      this.name = name;
      this.threshold = threshold.toInt();
      this.out = out;
    }

    private boolean enabled(Level level) {
      return level.toInt() >= threshold;
    }

    @Override
    public boolean isTraceEnabled() {
      return enabled(Level.TRACE);
    }

    @Override
    public boolean isDebugEnabled() {
      return enabled(Level.DEBUG);
    }

    @Override
    public boolean isInfoEnabled() {
      return enabled(Level.INFO);
    }

    @Override
    public boolean isWarnEnabled() {
      return enabled(Level.WARN);
    }

    @Override
    public boolean isErrorEnabled() {
      return enabled(Level.ERROR);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(
        Level level, Marker marker, String pattern, Object[] arguments, Throwable thrown) {
      if (!enabled(level)) {
        return;
      }
      String message = MessageFormatter.basicArrayFormat(pattern, arguments);
      // One write per event, so that lines from two threads never interleave.
      out.print(line(level, name, message, thrown));
      out.flush();
    }
  }
}
