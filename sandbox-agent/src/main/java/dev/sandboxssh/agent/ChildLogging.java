package dev.sandboxssh.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logging for an agent the gateway started ({@code -Dsandbox.agent.logging=child}): plain lines on
 * stderr, which the gateway logs under its own timestamp and the sandbox id, so the pattern carries
 * neither. Set up in code because parsing an XML configuration took about a third of an agent's
 * start-up (0.7 s of 2 s); without the property, logback configures itself as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class ChildLogging extends ContextAwareBase implements Configurator {
  /** The system property that selects this configuration. */
  public static final String PROPERTY = "sandbox.agent.logging";

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (!"child".equals(System.getProperty(PROPERTY))) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    // One line per event: a message with line breaks must not forge the gateway's next log line.
    encoder.setPattern("%-5level %logger{24} - %replace(%msg){'[\\r\\n]+', ' '}%n%ex{short}");
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(stderr);
    context.getLogger("io.grpc").setLevel(Level.WARN);
    // Netty warns that unix sockets have no SO_KEEPALIVE; gRPC keepalives do that job.
    context.getLogger("io.grpc.netty.shaded.io.netty").setLevel(Level.ERROR);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
