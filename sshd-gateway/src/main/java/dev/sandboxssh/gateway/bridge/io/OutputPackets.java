package dev.sandboxssh.gateway.bridge.io;

import org.apache.sshd.common.channel.Channel;

/** The packets a channel sends towards the client. */
public final class OutputPackets {
  private OutputPackets() {}

  /** The most data one packet to the client may carry: the size it announced, at least 1. */
  public static int maxSize(Channel channel) {
    long size = channel.getRemoteWindow().getPacketSize();
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, size));
  }
}
