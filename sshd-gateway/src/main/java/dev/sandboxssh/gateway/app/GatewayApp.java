package dev.sandboxssh.gateway.app;

import dev.sandboxssh.gateway.config.GatewayConfig;

/** Wires a gateway together from its config and runs it until the JVM stops. */
public final class GatewayApp {
  private GatewayApp() {}

  /** Starts the gateway described by {@code config} and blocks until it stops. */
  public static int run(GatewayConfig config) throws Exception {
    throw new UnsupportedOperationException("the gateway server is not wired yet");
  }
}
