package dev.sandboxssh.gateway.routing;

import java.io.IOException;

/**
 * Where a sandbox's agent hands over the stdio of processes started with {@code handOff}, so that
 * their bytes go between the gateway and the process without crossing the agent. Only agents on the
 * gateway's own host have one.
 */
public interface DescriptorSocket {

  /**
   * Takes the descriptors the agent keeps under {@code name}: stdin, stdout and stderr, or a
   * terminal's master when {@code terminal}.
   *
   * @throws IOException when the agent does not hand them over (unknown or expired name, agent
   *     gone) or hands over something other than pipes or a terminal
   */
  ProcessStdio take(String name, boolean terminal) throws IOException;
}
