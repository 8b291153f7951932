package dev.sandboxssh.gateway.ops;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.events.GatewayEvents;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gateway's operations side, from its {@code metrics} and {@code audit} settings: the {@link
 * GatewayEvents} the rest of the gateway reports to (metrics and the audit log), and the HTTP port
 * with {@code /metrics}, {@code /healthz} and {@code /readyz}. The app creates it first and closes
 * it last.
 *
 * <p>The audit destination belongs to logback's one {@code audit} logger, so it is one per JVM: of
 * gateways in one JVM (tests), the last started with an {@code audit.file} writes there.
 */
public final class Operations implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Operations.class);

  /** A readiness probe that waits longer than this for the store reports it as not answering. */
  private static final Duration STORE_CHECK_TIMEOUT = Duration.ofSeconds(2);

  /** What {@code /readyz} asks of the gateway. */
  public interface Readiness {
    /** Whether the SSH port accepts connections (false before it listens and while draining). */
    boolean listening();

    /** Whether the gateway drains before it stops. */
    boolean draining();

    /**
     * A cheap query of the ownership table.
     *
     * @throws RuntimeException when it cannot be read
     */
    void queryStore();
  }

  private final GatewayConfig config;
  private final GatewayMetrics metrics;
  private final AuditAppender audit;
  private final GatewayEvents events;
  private OpsHttpServer http;
  private ExecutorService storeChecks;
  private Future<?> storeCheck;

  private Operations(GatewayConfig config, GatewayMetrics metrics, AuditAppender audit) {
    this.config = config;
    this.metrics = metrics;
    this.audit = audit;
    AuditLog auditLog = new AuditLog();
    this.events = metrics == null ? auditLog : new FanOut(List.of(metrics, auditLog));
  }

  /**
   * Metrics when {@code metrics.port} is set, and the audit log opened at {@code audit.file}.
   *
   * @throws IOException when the audit file cannot be opened
   */
  public static Operations create(GatewayConfig config) throws IOException {
    AuditAppender audit = null;
    GatewayConfig.Audit a = config.audit();
    if (a.file() != null) {
      audit = AuditAppender.ofAuditLogger();
      audit.open(a.file(), a.toStdout());
    }
    // Without an HTTP port nobody could read them: no meters, no cost on the data path.
    GatewayMetrics metrics = config.metrics().port() > 0 ? new GatewayMetrics() : null;
    return new Operations(config, metrics, audit);
  }

  /** Where the gateway reports what happens. */
  public GatewayEvents events() {
    return events;
  }

  /** Reports {@code running} as the number of agents of {@code provider} running. */
  public void watchRunningAgents(String provider, IntSupplier running) {
    events.watchRunningAgents(provider, running);
  }

  /**
   * Starts the HTTP port when {@code metrics.port} is set; {@code /readyz} then asks {@code
   * readiness}.
   *
   * @throws IOException when the port cannot be bound
   */
  public void serveHttp(Readiness readiness) throws IOException {
    if (metrics == null) {
      return;
    }
    metrics.watchDraining(readiness::draining);
    storeChecks =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "ops-store-check");
              t.setDaemon(true);
              return t;
            });
    Map<String, OpsHttpServer.Check> checks = new LinkedHashMap<>();
    checks.put(
        "ssh",
        () ->
            readiness.draining()
                ? "draining: not accepting connections"
                : readiness.listening() ? null : "not listening");
    checks.put("store", () -> storeProblem(readiness));
    GatewayConfig.Metrics m = config.metrics();
    http =
        OpsHttpServer.start(
            m.host(), m.port(), metrics::scrape, GatewayMetrics::contentType, checks);
    log.info("metrics and health on http://{}:{}/metrics, /healthz, /readyz", m.host(), port());
  }

  /**
   * Runs the store query on a thread of its own, so that a store that hangs makes probes fail
   * rather than pile up; while a hung query runs, every probe reports it without starting another.
   */
  private synchronized String storeProblem(Readiness readiness) {
    if (storeCheck == null || storeCheck.isDone()) {
      storeCheck = storeChecks.submit(readiness::queryStore);
    }
    try {
      storeCheck.get(STORE_CHECK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return null;
    } catch (TimeoutException e) {
      return "no answer in " + STORE_CHECK_TIMEOUT.toSeconds() + " s";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    } catch (java.util.concurrent.ExecutionException e) {
      return String.valueOf(e.getCause().getMessage());
    }
  }

  /** The HTTP port bound, or -1 when there is none. */
  public int port() {
    return http == null ? -1 : http.port();
  }

  /** Stops the HTTP port and the audit file. */
  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
    if (storeChecks != null) {
      storeChecks.shutdownNow();
    }
    if (metrics != null) {
      metrics.close();
    }
    if (audit != null) {
      audit.closeTarget();
    }
  }

  /** Hands every event to each of its sinks in turn. */
  private static final class FanOut implements GatewayEvents {
    private final GatewayEvents[] sinks;

    FanOut(List<GatewayEvents> sinks) {
      this.sinks = sinks.toArray(GatewayEvents[]::new);
    }

    @Override
    public void connectionOpened() {
      for (GatewayEvents s : sinks) {
        s.connectionOpened();
      }
    }

    @Override
    public void connectionClosed() {
      for (GatewayEvents s : sinks) {
        s.connectionClosed();
      }
    }

    @Override
    public void connectionRefused(String reason, String source) {
      for (GatewayEvents s : sinks) {
        s.connectionRefused(reason, source);
      }
    }

    @Override
    public void loginSucceeded(Who who, String client) {
      for (GatewayEvents s : sinks) {
        s.loginSucceeded(who, client);
      }
    }

    @Override
    public void loginRefused(Who who, String reason) {
      for (GatewayEvents s : sinks) {
        s.loginRefused(who, reason);
      }
    }

    @Override
    public void loggedOut(Who who, Duration duration, long bytesIn, long bytesOut) {
      for (GatewayEvents s : sinks) {
        s.loggedOut(who, duration, bytesIn, bytesOut);
      }
    }

    @Override
    public void sessionStarted(Who who, String kind, String command, boolean pty) {
      for (GatewayEvents s : sinks) {
        s.sessionStarted(who, kind, command, pty);
      }
    }

    @Override
    public void sessionEnded(Who who, String kind, String exit, Duration duration) {
      for (GatewayEvents s : sinks) {
        s.sessionEnded(who, kind, exit, duration);
      }
    }

    @Override
    public void forwardOpened(Who who, String kind, String target) {
      for (GatewayEvents s : sinks) {
        s.forwardOpened(who, kind, target);
      }
    }

    @Override
    public void fileOperation(
        Who who, String protocol, String op, String path, String to, long bytes, String result) {
      for (GatewayEvents s : sinks) {
        s.fileOperation(who, protocol, op, path, to, bytes, result);
      }
    }

    @Override
    public void bytesIn(long n) {
      for (GatewayEvents s : sinks) {
        s.bytesIn(n);
      }
    }

    @Override
    public void bytesOut(long n) {
      for (GatewayEvents s : sinks) {
        s.bytesOut(n);
      }
    }

    @Override
    public void agentConnected(String provider, Duration took, boolean reached) {
      for (GatewayEvents s : sinks) {
        s.agentConnected(provider, took, reached);
      }
    }

    @Override
    public void agentStarted(Duration took) {
      for (GatewayEvents s : sinks) {
        s.agentStarted(took);
      }
    }

    @Override
    public void watchRunningAgents(String provider, java.util.function.IntSupplier running) {
      for (GatewayEvents s : sinks) {
        s.watchRunningAgents(provider, running);
      }
    }
  }
}
