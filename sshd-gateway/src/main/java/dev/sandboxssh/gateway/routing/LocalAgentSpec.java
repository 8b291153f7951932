package dev.sandboxssh.gateway.routing;

import java.nio.file.Path;

/**
 * What an {@link AgentLauncher} needs to start the agent of one local sandbox.
 *
 * @param sandboxId the sandbox's id (its hostname when confined)
 * @param sandboxDir the sandbox's own directory: its home, the only writable host path it sees
 * @param runDir the gateway-side directory of this agent's socket and token file
 * @param socket the unix socket the agent listens on, as the gateway reaches it
 * @param tokenFile the file holding the agent's token, as the gateway wrote it
 */
public record LocalAgentSpec(
    String sandboxId, Path sandboxDir, Path runDir, Path socket, Path tokenFile) {}
