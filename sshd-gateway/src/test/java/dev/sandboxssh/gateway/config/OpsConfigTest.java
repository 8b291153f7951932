package dev.sandboxssh.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The metrics, audit and shutdown sections of the config file. */
class OpsConfigTest {

  @Test
  void defaultsAreOffWithAThirtySecondDrain() {
    GatewayConfig d = GatewayConfig.defaults();
    assertThat(d.metrics()).isEqualTo(new GatewayConfig.Metrics("127.0.0.1", 0));
    assertThat(d.audit().file()).isNull();
    assertThat(d.audit().toStdout()).isFalse();
    assertThat(d.shutdown().grace()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void readsEachSetting() {
    GatewayConfig c =
        ConfigLoader.parse(
            """
            metrics: {host: 0.0.0.0, port: 9102}
            audit: {file: /var/log/sandbox-ssh/audit.json}
            shutdown: {grace: 2m}
            """,
            "t.yaml");
    assertThat(c.metrics()).isEqualTo(new GatewayConfig.Metrics("0.0.0.0", 9102));
    assertThat(c.audit().file()).isEqualTo(Path.of("/var/log/sandbox-ssh/audit.json"));
    assertThat(c.audit().toStdout()).isFalse();
    assertThat(c.shutdown().grace()).isEqualTo(Duration.ofMinutes(2));
    assertThat(ConfigLoader.parse("audit: {file: \"-\"}\n", "t.yaml").audit().toStdout()).isTrue();
    assertThat(ConfigLoader.parse("shutdown: {grace: 0}\n", "t.yaml").shutdown().grace()).isZero();
  }

  @Test
  void badValuesAreNamed() {
    assertThatThrownBy(
            () ->
                ConfigLoader.parse(
                    """
                    metrics: {host: "", port: 70000, path: /x}
                    audit: {file: 3}
                    shutdown: {grace: soon}
                    """,
                    "t.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("metrics.host")
        .hasMessageContaining("metrics.port: must be 0..65535")
        .hasMessageContaining("metrics.path: unknown setting")
        .hasMessageContaining("audit.file: must be a path")
        .hasMessageContaining("shutdown.grace");
  }
}
