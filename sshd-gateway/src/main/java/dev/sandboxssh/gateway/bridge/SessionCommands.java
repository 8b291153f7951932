package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.session.LoginName;
import dev.sandboxssh.gateway.session.SessionContext;
import dev.sandboxssh.gateway.store.OwnershipStore;
import java.util.concurrent.Executor;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.command.CommandFactory;
import org.apache.sshd.server.shell.ShellFactory;

/**
 * Picks what answers a {@code shell} or {@code exec} request from the login's user name: a process
 * in the sandbox (plain, named session or attached pid), the process table, or an owner's menu.
 */
public final class SessionCommands implements ShellFactory, CommandFactory {
  private final OwnershipStore store;
  private final GatewayConfig.Sessions sessions;
  private final Executor threads;

  /** Commands that run their blocking work on {@code threads}. */
  public SessionCommands(OwnershipStore store, GatewayConfig.Sessions sessions, Executor threads) {
    this.store = store;
    this.sessions = sessions;
    this.threads = threads;
  }

  @Override
  public Command createShell(ChannelSession channel) {
    return create(channel, ProcessBridge.Kind.SHELL, null);
  }

  @Override
  public Command createCommand(ChannelSession channel, String command) {
    return create(channel, ProcessBridge.Kind.EXEC, command);
  }

  private Command create(ChannelSession channel, ProcessBridge.Kind kind, String command) {
    SessionContext context = SessionContext.of(channel.getSession());
    if (context.isOwnerLogin()) {
      return OwnerMenu.on(channel, command, store, sessions.detachedTimeout(), threads);
    }
    if (context.name().form() == LoginName.Form.PROCESS_TABLE) {
      return new ProcessTable(command, threads);
    }
    // Plain, named, attached by pid, or a malformed suffix (whose lease fails with the reason).
    return ProcessBridge.on(channel, kind, command, sessions.detachedTimeout(), threads);
  }
}
