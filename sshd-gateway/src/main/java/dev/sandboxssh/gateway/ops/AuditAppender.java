package dev.sandboxssh.gateway.ops;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * The appender of the {@code audit} logger in logback.xml: it encodes with the encoder configured
 * there and writes to the destination of the gateway's own config ({@code audit.file}), which is
 * only known once the gateway has read it, long after logback started. Until then, and when no
 * destination is set, it drops what it gets.
 *
 * <p>Each line is flushed as it is written: an audit line must not sit in a buffer when the process
 * dies.
 */
public final class AuditAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  private Encoder<ILoggingEvent> encoder;
  private OutputStream out;
  private boolean ownsStream;

  /** Set from logback.xml's {@code <encoder>}. */
  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("no encoder for the audit appender " + name);
      return;
    }
    super.start();
  }

  /** Starts writing to stdout, or appending to {@code file} (created if missing). */
  synchronized void open(Path file, boolean stdout) throws IOException {
    closeTarget();
    if (stdout) {
      out = System.out;
      ownsStream = false;
    } else {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      out = new FileOutputStream(file.toFile(), true);
      ownsStream = true;
    }
    byte[] header = encoder.headerBytes();
    if (header != null && header.length > 0) {
      out.write(header);
      out.flush();
    }
  }

  /** Stops writing; what comes after is dropped until the next {@link #open}. */
  synchronized void closeTarget() {
    OutputStream o = out;
    out = null;
    if (o != null && ownsStream) {
      try {
        o.close();
      } catch (IOException e) {
        addWarn("closing the audit file", e);
      }
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    byte[] line = encoder.encode(event);
    synchronized (this) {
      if (out == null) {
        return;
      }
      try {
        out.write(line);
        out.flush();
      } catch (IOException e) {
        // Reported through logback's status (and so once per failure, not per line of the log).
        addError("cannot write the audit log", e);
      }
    }
  }

  @Override
  public void stop() {
    closeTarget();
    super.stop();
  }

  /**
   * The audit appender of the {@code audit} logger; when logback.xml gives it none (an operator's
   * own file from an older version), one with the default JSON encoder is attached, so that {@code
   * audit.file} still works.
   */
  static AuditAppender ofAuditLogger() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      throw new IllegalStateException("the audit log needs logback as the SLF4J binding");
    }
    Logger logger = context.getLogger(AuditLog.LOGGER);
    for (Iterator<Appender<ILoggingEvent>> it = logger.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof AuditAppender found) {
        return found;
      }
    }
    LoggerFactory.getLogger(AuditAppender.class)
        .warn(
            "logback config has no AuditAppender on logger audit; adding one with a JSON encoder");
    LogstashEncoder json = new LogstashEncoder();
    json.setContext(context);
    json.start();
    AuditAppender appender = new AuditAppender();
    appender.setContext(context);
    appender.setName("AUDIT");
    appender.setEncoder(json);
    appender.start();
    logger.addAppender(appender);
    logger.setAdditive(false);
    if (!logger.isInfoEnabled()) {
      logger.setLevel(ch.qos.logback.classic.Level.INFO);
    }
    return appender;
  }
}
