package dev.sandboxssh.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.status.Status;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LogbackConfigTest {

  @Test
  void bothFilesAreTheSameValidConfiguration() throws Exception {
    Path root = Path.of("..", "config", "logback.xml");
    URL bundled = getClass().getResource("/logback.xml");
    assertThat(bundled).isNotNull();
    for (URL url : new URL[] {root.toUri().toURL(), bundled}) {
      LoggerContext ctx = new LoggerContext();
      JoranConfigurator configurator = new JoranConfigurator();
      configurator.setContext(ctx);
      configurator.doConfigure(url);
      assertThat(ctx.getStatusManager().getCopyOfStatusList())
          .noneMatch(s -> s.getLevel() >= Status.WARN);
      assertThat(ctx.getLogger("org.apache.sshd.server").getEffectiveLevel()).isEqualTo(Level.WARN);
      assertThat(ctx.getLogger("io.grpc.netty").getEffectiveLevel()).isEqualTo(Level.WARN);
      assertThat(ctx.getLogger("dev.sandboxssh.gateway.store").getEffectiveLevel())
          .isEqualTo(Level.INFO);
      // The audit lines go to their own appender (audit.file), never into the human log.
      ch.qos.logback.classic.Logger audit = ctx.getLogger("audit");
      assertThat(audit.isAdditive()).isFalse();
      assertThat(audit.getEffectiveLevel()).isEqualTo(Level.INFO);
      assertThat(audit.getAppender("AUDIT"))
          .isInstanceOf(dev.sandboxssh.gateway.ops.AuditAppender.class);
      ctx.stop();
    }
    String a = Files.readString(root);
    String b = new String(bundled.openStream().readAllBytes());
    // Only the leading comment differs.
    assertThat(a.substring(a.indexOf("<configuration>")))
        .isEqualTo(b.substring(b.indexOf("<configuration>")));
  }
}
