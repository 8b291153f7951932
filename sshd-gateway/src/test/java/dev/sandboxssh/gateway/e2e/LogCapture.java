package dev.sandboxssh.gateway.e2e;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Collects what the gateway logs under one logger (and its children) while it is open. */
public final class LogCapture implements AutoCloseable {
  private final Logger logger;
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  private LogCapture(String loggerName) {
    this.logger = (Logger) LoggerFactory.getLogger(loggerName);
    appender.setName("test-capture-" + loggerName);
    appender.start();
    logger.addAppender(appender);
  }

  /** Starts collecting the events of {@code loggerName}. */
  public static LogCapture of(String loggerName) {
    return new LogCapture(loggerName);
  }

  /** The formatted messages so far. */
  public List<String> messages() {
    // The appender's own lock: AppenderBase.doAppend is synchronized on it while it adds.
    synchronized (appender) {
      return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
  }

  /** How many messages so far contain {@code text}. */
  public long count(String text) {
    return messages().stream().filter(m -> m.contains(text)).count();
  }

  /** Forgets what was collected. */
  public void clear() {
    synchronized (appender) {
      appender.list.clear();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    appender.stop();
  }
}
