package dev.sandboxssh.gateway.bridge.files;

import dev.sandboxssh.sdk.Files;
import java.io.IOException;

/** Reaches a sandbox's filesystem; may block (starting an agent), so never on an I/O thread. */
@FunctionalInterface
public interface FilesConnector {

  /**
   * The sandbox's filesystem API.
   *
   * @throws IOException whose message is the line to show the user when the sandbox is unreachable
   */
  Files connect() throws IOException;
}
