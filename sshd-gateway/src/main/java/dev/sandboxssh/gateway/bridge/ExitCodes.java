package dev.sandboxssh.gateway.bridge;

/** Exit statuses the gateway reports on its own behalf. */
public final class ExitCodes {
  /**
   * The gateway, not the command, failed: the sandbox was unreachable or its agent went away. 255
   * is what OpenSSH's own client and server use for their failures, so scripts that tell "ssh
   * failed" from "the command failed" keep working; a command's own status, 255 included, is passed
   * through unchanged.
   */
  public static final int GATEWAY_FAILURE = 255;

  private ExitCodes() {}
}
