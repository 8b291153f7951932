package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.config.GatewayConfig;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.server.channel.ChannelSessionFactory;

/** Opens {@link GatewayChannelSession}s for the "session" channel type. */
public final class GatewayChannelSessionFactory implements ChannelFactory {
  private final EnvPolicy envPolicy;
  private final GatewayConfig.Limits limits;

  /** Channels screened by {@code envPolicy} and {@code limits}. */
  public GatewayChannelSessionFactory(EnvPolicy envPolicy, GatewayConfig.Limits limits) {
    this.envPolicy = envPolicy;
    this.limits = limits;
  }

  @Override
  public String getName() {
    return ChannelSessionFactory.INSTANCE.getName();
  }

  @Override
  public Channel createChannel(Session session) {
    return new GatewayChannelSession(envPolicy, limits);
  }
}
