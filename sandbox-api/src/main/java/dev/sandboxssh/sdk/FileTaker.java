package dev.sandboxssh.sdk;

import java.io.IOException;

/**
 * Takes an open file that the agent handed over (see {@link Files#handOffTo}); only a caller on the
 * agent's host can.
 */
@FunctionalInterface
public interface FileTaker {

  /**
   * Takes the open file the agent keeps under {@code handOff}.
   *
   * @param path the file's path as the caller named it, for messages
   */
  OpenFile take(String handOff, String path) throws IOException;
}
