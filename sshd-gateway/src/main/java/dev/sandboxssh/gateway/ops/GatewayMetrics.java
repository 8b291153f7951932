package dev.sandboxssh.gateway.ops;

import dev.sandboxssh.gateway.events.GatewayEvents;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The gateway's Prometheus metrics, fed by {@link GatewayEvents}. Names (as scraped): {@code
 * sandboxssh_connections_total}, {@code sandboxssh_connections_refused_total{reason}}, {@code
 * sandboxssh_connections_open}, {@code sandboxssh_logins_total{outcome,reason}}, {@code
 * sandboxssh_sessions_open}, {@code sandboxssh_channels_total{kind}}, {@code
 * sandboxssh_file_operations_total{protocol,op,result}}, {@code sandboxssh_bytes_total{direction}},
 * {@code sandboxssh_agent_connect_seconds{provider,outcome}} and {@code
 * sandboxssh_agent_start_seconds} (histograms), {@code sandboxssh_agents_running{provider}}, {@code
 * sandboxssh_draining}, and the JVM's and process's own.
 */
final class GatewayMetrics implements GatewayEvents {
  /**
   * Buckets of the agent histograms: a warm agent answers in milliseconds, a cold one in seconds.
   */
  private static final Duration[] AGENT_BUCKETS = {
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30)
  };

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicInteger connectionsOpen = new AtomicInteger();
  private final AtomicInteger sessionsOpen = new AtomicInteger();
  private final Counter connections;
  private final Counter bytesIn;
  private final Counter bytesOut;
  private final Timer agentStart;
  private final JvmGcMetrics gc = new JvmGcMetrics();

  GatewayMetrics() {
    connections =
        Counter.builder("sandboxssh.connections")
            .description("TCP connections accepted past the pre-authentication defences")
            .register(registry);
    Gauge.builder("sandboxssh.connections.open", connectionsOpen, AtomicInteger::get)
        .description("Connections open now, logged in or not")
        .register(registry);
    Gauge.builder("sandboxssh.sessions.open", sessionsOpen, AtomicInteger::get)
        .description("Logged-in connections open now")
        .register(registry);
    bytesIn = bytes("in", "Payload bytes from clients into sandboxes");
    bytesOut = bytes("out", "Payload bytes from sandboxes out to clients");
    agentStart =
        Timer.builder("sandboxssh.agent.start")
            .description("Time from launching a local agent to its first answer")
            .serviceLevelObjectives(AGENT_BUCKETS)
            .register(registry);
    // The process's own health, beside the gateway's: heap, GC pauses, threads, descriptors, CPU.
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  private Counter bytes(String direction, String description) {
    return Counter.builder("sandboxssh.bytes")
        .baseUnit("bytes")
        .tag("direction", direction)
        .description(description)
        .register(registry);
  }

  /** The text a scrape returns, in the format {@code accept} asks for (Prometheus text if none). */
  String scrape(String accept) {
    return registry.scrape(accept == null ? "text/plain" : accept);
  }

  /** The content type of {@link #scrape} for {@code accept}. */
  static String contentType(String accept) {
    return accept != null && accept.contains("application/openmetrics-text")
        ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
        : "text/plain; version=0.0.4; charset=utf-8";
  }

  /** Reports 1 while {@code draining} holds, else 0. */
  void watchDraining(BooleanSupplier draining) {
    // Strong references: Micrometer holds a gauge's object weakly, and nothing else holds these.
    Gauge.builder("sandboxssh.draining", draining, d -> d.getAsBoolean() ? 1 : 0)
        .strongReference(true)
        .description("1 while the gateway drains before it stops, else 0")
        .register(registry);
  }

  /** Releases the JVM metrics' listeners. */
  void close() {
    gc.close(); // its GC notification listeners would outlive a gateway closed in a running JVM
    registry.close();
  }

  @Override
  public void connectionOpened() {
    connections.increment();
    connectionsOpen.incrementAndGet();
  }

  @Override
  public void connectionClosed() {
    connectionsOpen.decrementAndGet();
  }

  @Override
  public void connectionRefused(String reason, String source) {
    Counter.builder("sandboxssh.connections.refused")
        .description("Connections closed as they were accepted, by reason")
        .tag("reason", reason)
        .register(registry)
        .increment();
  }

  @Override
  public void loginSucceeded(Who who, String client) {
    login("success", "none");
    sessionsOpen.incrementAndGet();
  }

  @Override
  public void loginRefused(Who who, String reason) {
    login("refused", reason);
  }

  private void login(String outcome, String reason) {
    Counter.builder("sandboxssh.logins")
        .description("Connections that tried to log in, by outcome and refusal reason")
        .tag("outcome", outcome)
        .tag("reason", reason)
        .register(registry)
        .increment();
  }

  @Override
  public void loggedOut(Who who, Duration duration, long in, long out) {
    sessionsOpen.decrementAndGet();
  }

  @Override
  public void sessionStarted(Who who, String kind, String command, boolean pty) {
    channel(kind);
  }

  @Override
  public void forwardOpened(Who who, String kind, String target) {
    channel(kind);
  }

  private void channel(String kind) {
    Counter.builder("sandboxssh.channels")
        .description("Sessions (shell, exec, sftp, scp) and forwards opened, by kind")
        .tag("kind", kind)
        .register(registry)
        .increment();
  }

  @Override
  public void fileOperation(
      Who who, String protocol, String op, String path, String to, long bytes, String result) {
    Counter.builder("sandboxssh.file.operations")
        .description("SFTP and scp file operations, by protocol, operation and result")
        .tag("protocol", protocol)
        .tag("op", op)
        .tag("result", "ok".equals(result) ? "ok" : "error")
        .register(registry)
        .increment();
  }

  @Override
  public void bytesIn(long n) {
    bytesIn.increment(n);
  }

  @Override
  public void bytesOut(long n) {
    bytesOut.increment(n);
  }

  @Override
  public void agentConnected(String provider, Duration took, boolean reached) {
    Timer.builder("sandboxssh.agent.connect")
        .description(
            "Time a session waited for its sandbox's agent, a start included, by provider and"
                + " outcome")
        .tag("provider", provider)
        .tag("outcome", reached ? "ok" : "failed")
        .serviceLevelObjectives(AGENT_BUCKETS)
        .register(registry)
        .record(took);
  }

  @Override
  public void agentStarted(Duration took) {
    agentStart.record(took);
  }

  @Override
  public void watchRunningAgents(String provider, IntSupplier running) {
    Gauge.builder("sandboxssh.agents.running", running, IntSupplier::getAsInt)
        .strongReference(true)
        .description("Agents running now, by provider")
        .tag("provider", provider)
        .register(registry);
  }
}
