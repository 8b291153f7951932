package dev.sandboxssh.sdk;

/** The agent could not be reached or did not answer in time: the sandbox, not the call, failed. */
public class SandboxUnavailableException extends SandboxException {
  /** An unreachable or silent agent. */
  public SandboxUnavailableException(Code code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
