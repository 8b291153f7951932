package dev.sandboxssh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

class StderrLogProviderTest {
  @Test
  void shortensLongNamesFromTheLeftAsLogbackDoes() {
    assertThat(StderrLogProvider.abbreviate("dev.sandboxssh.agent.AgentMain", 24))
        .isEqualTo("d.s.agent.AgentMain");
    assertThat(StderrLogProvider.abbreviate("dev.sandboxssh.agent.process.ProcessServiceImpl", 24))
        .isEqualTo("d.s.a.p.ProcessServiceImpl");
    assertThat(StderrLogProvider.abbreviate("dev.sandboxssh.Short", 24))
        .isEqualTo("dev.sandboxssh.Short");
    assertThat(StderrLogProvider.abbreviate("NoPackageButAVeryLongClassName", 24))
        .isEqualTo("NoPackageButAVeryLongClassName");
  }

  @Test
  void anEventIsOneLineWhateverItsMessageHolds() {
    String line =
        StderrLogProvider.line(
            Level.INFO, "dev.sandboxssh.agent.AgentMain", "a\nforged\r\nline", null);
    assertThat(line).isEqualTo("INFO  d.s.agent.AgentMain - a forged line\n");
  }

  @Test
  void aThrowableAddsItsOwnLineAndTheFrameItCameFrom() {
    Exception thrown = new IllegalStateException("broken\nhere");
    String line = StderrLogProvider.line(Level.ERROR, "x.Y", "failed", thrown);
    String[] lines = line.split("\n");
    assertThat(lines).hasSize(3);
    assertThat(lines[0]).isEqualTo("ERROR x.Y - failed");
    assertThat(lines[1]).isEqualTo("java.lang.IllegalStateException: broken here");
    assertThat(lines[2]).startsWith("\tat " + getClass().getName());
  }

  @Test
  void grpcAndItsNettySayOnlyWhatMatters() {
    assertThat(StderrLogProvider.threshold("dev.sandboxssh.agent.AgentMain")).isEqualTo(Level.INFO);
    assertThat(StderrLogProvider.threshold("io.grpc.internal.ServerImpl")).isEqualTo(Level.WARN);
    assertThat(StderrLogProvider.threshold("io.grpc.netty.shaded.io.netty.channel.Epoll"))
        .isEqualTo(Level.ERROR);
  }

  @Test
  void loggersHonourTheirThresholds() {
    var factory = new StderrLogProvider().getLoggerFactory();
    assertThat(factory.getLogger("dev.sandboxssh.agent.X").isInfoEnabled()).isTrue();
    assertThat(factory.getLogger("dev.sandboxssh.agent.X").isDebugEnabled()).isFalse();
    assertThat(factory.getLogger("io.grpc.Server").isInfoEnabled()).isFalse();
    assertThat(factory.getLogger("io.grpc.Server").isWarnEnabled()).isTrue();
  }
}
