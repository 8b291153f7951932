package dev.sandboxssh.gateway.bridge;

import dev.sandboxssh.gateway.bridge.forward.Forwarding;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.gateway.session.ClientPath;
import dev.sandboxssh.gateway.session.SessionContext;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelListener;
import org.apache.sshd.common.channel.PtyMode;
import org.apache.sshd.common.channel.RequestHandler;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session channel that screens what clients ask before it reaches a sandbox: env names by policy,
 * PTY sizes clamped, and that can end with {@code exit-signal}, which MINA's own channel cannot
 * send. It reports its start (shell, exec with its command, scp, a subsystem) and its end with the
 * exit status to the session's {@link SessionContext}, whatever serves it.
 */
public final class GatewayChannelSession extends ChannelSession {
  private static final Logger log = LoggerFactory.getLogger(GatewayChannelSession.class);

  private final EnvPolicy envPolicy;
  private final GatewayConfig.Limits limits;
  private final Map<String, String> acceptedEnv = new LinkedHashMap<>();
  private volatile PtyRequest pty;
  // What the channel runs, once a shell, exec or subsystem request was accepted; how it ended; and
  // whether its start and its close were seen, so that its end is reported once, after its start.
  private final Object events = new Object();
  private String kind;
  private SessionContext context;
  private long startedNanos;
  private boolean startReported;
  private boolean closed;
  private volatile String exit;

  /** What MINA's ScpCommandFactory serves itself rather than pass on as a command. */
  private static final Pattern SCP = Pattern.compile("scp\\s.*", Pattern.DOTALL);

  /** A channel screened by {@code envPolicy} and {@code limits}. */
  public GatewayChannelSession(EnvPolicy envPolicy, GatewayConfig.Limits limits) {
    this.envPolicy = envPolicy;
    this.limits = limits;
    addChannelListener(
        new ChannelListener() {
          @Override
          public void channelClosed(Channel channel, Throwable reason) {
            synchronized (events) {
              closed = true;
              if (startReported) {
                reportEnd();
              }
            }
          }
        });
  }

  /** Opens with the part of the client's window {@link ClientPath} says to fill. */
  @Override
  public OpenFuture open(long recipient, long rwSize, long packetSize, Buffer buffer) {
    return super.open(
        recipient, ClientPath.windowToUse(getSession(), rwSize, packetSize), packetSize, buffer);
  }

  /** The env requests accepted so far (name to value). */
  public synchronized Map<String, String> acceptedEnv() {
    return Map.copyOf(acceptedEnv);
  }

  /** The PTY the client asked for, or null when it asked for none. */
  public PtyRequest pty() {
    return pty;
  }

  @Override
  protected RequestHandler.Result handleEnvParsed(String name, String value) throws IOException {
    synchronized (this) {
      if (!envPolicy.allows(name, value)) {
        // As sshd: a refused name is ignored (and refused if the client wants a reply).
        log.debug("env {} refused by policy", name);
        return RequestHandler.Result.ReplyFailure;
      }
      if (!acceptedEnv.containsKey(name) && acceptedEnv.size() >= limits.maxEnvVars()) {
        log.debug("env {} refused: more than {} variables", name, limits.maxEnvVars());
        return RequestHandler.Result.ReplyFailure;
      }
      acceptedEnv.put(name, value);
    }
    return super.handleEnvParsed(name, value);
  }

  /**
   * Reads a {@code pty-req} as MINA does, but refuses one whose terminal modes (RFC 4254 section 8:
   * opcode bytes, each of 1..159 followed by a uint32) end inside an opcode's value. MINA's own
   * parser reads past the end of the modes there and throws ArrayIndexOutOfBoundsException, which
   * dropped the client's connection as an internal error; now the client is told "PTY allocation
   * request failed" and the channel goes on.
   */
  @Override
  protected RequestHandler.Result handlePtyReq(Buffer buffer, boolean wantReply)
      throws IOException {
    String term = buffer.getString();
    int cols = buffer.getInt();
    int rows = buffer.getInt();
    int width = buffer.getInt();
    int height = buffer.getInt();
    byte[] encoded = buffer.getBytes();
    Map<PtyMode, Integer> modes = new EnumMap<>(PtyMode.class);
    for (int i = 0; i < encoded.length && encoded[i] != PtyMode.TTY_OP_END; ) {
      int opcode = encoded[i++] & 0xff;
      if (opcode >= 160) {
        break; // RFC 4254: opcodes 160 to 255 are undefined and stop parsing
      }
      if (encoded.length - i < Integer.BYTES) {
        log.debug("pty-req refused: terminal mode {} without its value", opcode);
        return RequestHandler.Result.ReplyFailure;
      }
      int value =
          (encoded[i] & 0xff) << 24
              | (encoded[i + 1] & 0xff) << 16
              | (encoded[i + 2] & 0xff) << 8
              | (encoded[i + 3] & 0xff);
      i += Integer.BYTES;
      PtyMode mode = PtyMode.fromInt(opcode);
      if (mode != null) { // as MINA: a mode it does not know is left out
        modes.put(mode, value);
      }
    }
    return handlePtyReqParsed(term, cols, rows, width, height, modes);
  }

  @Override
  protected RequestHandler.Result handlePtyReqParsed(
      String term, int cols, int rows, int width, int height, Map<PtyMode, Integer> modes)
      throws IOException {
    int c = PtyRequest.clamp(cols, limits.maxPtyCols(), PtyRequest.DEFAULT_COLS);
    int r = PtyRequest.clamp(rows, limits.maxPtyRows(), PtyRequest.DEFAULT_ROWS);
    Map<String, Integer> named = new LinkedHashMap<>();
    modes.forEach((mode, value) -> named.put(mode.name(), value));
    String cleanTerm =
        term == null || term.isEmpty() || term.length() > 64 || !term.matches("[A-Za-z0-9._+-]+")
            ? "xterm-256color"
            : term;
    pty = new PtyRequest(cleanTerm, c, r, named);
    return super.handlePtyReqParsed(cleanTerm, c, r, width, height, modes);
  }

  @Override
  protected RequestHandler.Result handleWindowChangeParsed(
      int cols, int rows, int width, int height) throws IOException {
    PtyRequest current = pty;
    int c = PtyRequest.clamp(cols, limits.maxPtyCols(), current == null ? 80 : current.cols());
    int r = PtyRequest.clamp(rows, limits.maxPtyRows(), current == null ? 24 : current.rows());
    if (current != null) {
      pty = new PtyRequest(current.term(), c, r, current.modes());
    }
    return super.handleWindowChangeParsed(c, r, width, height);
  }

  @Override
  protected RequestHandler.Result handleShellParsed(String request) throws IOException {
    return started(super.handleShellParsed(request), "shell", null);
  }

  @Override
  protected RequestHandler.Result handleExecParsed(String request, String command)
      throws IOException {
    RequestHandler.Result result = super.handleExecParsed(request, command);
    return started(result, SCP.matcher(command).matches() ? "scp" : "exec", command);
  }

  @Override
  protected RequestHandler.Result handleSubsystemParsed(String request, String subsystem)
      throws IOException {
    return started(super.handleSubsystemParsed(request, subsystem), subsystem, null);
  }

  /** Reports the start of what the channel runs, once; its end follows when the channel closes. */
  private RequestHandler.Result started(RequestHandler.Result result, String what, String command) {
    boolean accepted =
        result == RequestHandler.Result.ReplySuccess || result == RequestHandler.Result.Replied;
    synchronized (events) {
      if (!accepted || startReported) {
        return result;
      }
      kind = what;
      startedNanos = System.nanoTime();
      startReported = true;
      // Kept: the session's attributes may be gone by the time its channels are closed.
      context = SessionContext.of(getSession());
      context.sessionStarted(what, command, pty != null);
      if (closed) {
        reportEnd(); // a command that ended before its request was answered
      }
    }
    return result;
  }

  private void reportEnd() {
    context.sessionEnded(kind, exit, Duration.ofNanos(System.nanoTime() - startedNanos));
  }

  /** ssh -A: policy decides; the socket is made when the process starts (ProcessBridge). */
  @Override
  protected RequestHandler.Result handleAgentForwardingParsed(String requestType) {
    return Forwarding.agentRequested(this);
  }

  /** X11 is always refused: a sandbox has no display to forward. */
  @Override
  protected RequestHandler.Result handleX11ForwardingParsed(
      String requestType,
      ServerSession session,
      boolean singleConnection,
      String authProtocol,
      String authCookie,
      int screenId) {
    return Forwarding.x11Requested(this);
  }

  /**
   * Ends the channel with the command's exit status: the status first, then EOF and close, as sshd
   * does. MINA's own order (EOF, then status) loses the status whenever the client already sent its
   * EOF (stdin at its end, and every ControlMaster session): such a client answers our EOF with
   * CLOSE at once, and once that CLOSE is in, MINA discards the status, so the client reports 255.
   *
   * <p>The close is graceful even when the command asks for an immediate one, as MINA's SFTP server
   * does when a request failed it (a packet shorter than its fields): an immediate close sends no
   * SSH_MSG_CHANNEL_CLOSE and forgets the channel, while the client waits for that message (RFC
   * 4254 section 5.3) for ever: an OpenSSH client hangs, a ControlMaster keeps the channel.
   */
  @Override
  protected void closeShell(int exitValue, boolean closeImmediately) throws IOException {
    exit = Integer.toString(exitValue);
    if (isClosing()) {
      commandExitFuture.setClosed();
      return;
    }
    flushOutput();
    sendExitStatus(exitValue);
    finish();
  }

  /**
   * Ends the channel as a process killed by {@code signal} (RFC 4254 section 6.10 {@code
   * exit-signal}): the request, then EOF and close (the order matters as in {@link #closeShell}).
   */
  public void exitWithSignal(String signal, boolean coreDumped) throws IOException {
    exit = signal;
    if (isClosing()) {
      commandExitFuture.setClosed();
      return;
    }
    flushOutput();
    Buffer buffer = getSession().createBuffer(SshConstants.SSH_MSG_CHANNEL_REQUEST, 64);
    buffer.putUInt(getRecipient());
    buffer.putString("exit-signal");
    buffer.putBoolean(false);
    buffer.putString(signal);
    buffer.putBoolean(coreDumped);
    buffer.putString("");
    buffer.putString("");
    writePacket(buffer);
    finish();
  }

  private void flushOutput() throws IOException {
    if (out != null) {
      out.flush();
    }
    if (err != null) {
      err.flush();
    }
  }

  private void finish() throws IOException {
    if (out != null) {
      out.close(); // sends EOF
    }
    sendEof(); // for a channel without output stream; once only
    commandExitFuture.setClosed();
    close(false);
  }
}
