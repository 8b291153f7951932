package dev.sandboxssh.gateway.routing;

import dev.sandboxssh.sdk.Sandbox;
import dev.sandboxssh.sdk.SandboxException;
import dev.sandboxssh.sdk.SandboxUnavailableException;
import java.time.Duration;

/** Turns "is this agent answering?" into the one-line errors users see. */
final class AgentProbe {
  private AgentProbe() {}

  /** Checks that {@code sandbox} answers within {@code timeout}, or says why not. */
  static void check(String sandboxId, Sandbox sandbox, Duration timeout)
      throws SandboxUnreachableException {
    try {
      sandbox.ping(timeout);
    } catch (SandboxUnavailableException e) {
      if (e.code() == SandboxException.Code.DEADLINE_EXCEEDED) {
        throw new SandboxUnreachableException(
            "sandbox " + sandboxId + ": agent did not answer in " + seconds(timeout), e);
      }
      throw new SandboxUnreachableException(
          "sandbox " + sandboxId + " is not running: " + e.getMessage(), e);
    } catch (SandboxException e) {
      throw new SandboxUnreachableException(
          "sandbox " + sandboxId + ": agent refused the gateway: " + e.getMessage(), e);
    }
  }

  static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
