package dev.sandboxssh.gateway.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sandboxssh.gateway.InProcessGateway;
import dev.sandboxssh.gateway.config.GatewayConfig;
import dev.sandboxssh.testing.AllocationBudget;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.client.channel.ChannelSession;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.BufferException;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.junit.jupiter.api.Timeout;

/**
 * The requests a client sends on a session channel before its command ({@code env}, {@code
 * pty-req}, {@code window-change}, {@code signal}, {@code break}, {@code subsystem}, forwarding
 * requests, unknown ones), with arbitrary payloads, as the gateway's {@link GatewayChannelSession}
 * handles them: a real channel of the real server, opened by a real client, each request's payload
 * handed to {@link GatewayChannelSession#handleRequest} as MINA's connection service hands it over.
 * {@code exec} and {@code shell} are left out: they start processes in the sandbox.
 *
 * <p>Properties: a request fails only with MINA's {@link BufferException} for a payload shorter
 * than its fields (MINA then drops the connection, as OpenSSH does); whatever was accepted stays
 * within the policy and limits (allowed env names, value sizes, variable count, PTY sizes and
 * TERM); the environment MINA keeps for the command holds nothing else; no hang; bounded
 * allocation.
 *
 * <p>An input is a sequence of at most {@value #MAX_REQUESTS} requests, each: one byte picking the
 * type from {@link #TYPES} (one past the end: the type is the payload's first SSH string), one byte
 * of flags (bit 0: want-reply), a big-endian 16-bit length, then that many payload bytes. Seeds
 * ({@code GatewayChannelSessionFuzzTestInputs/requests/}): well-formed requests of each type as
 * OpenSSH sends them, and refusals (LD_PRELOAD, oversized values, absurd sizes).
 */
class GatewayChannelSessionFuzzTest {
  static final int MAX_REQUESTS = 8;

  static final List<String> TYPES =
      List.of(
          "env",
          "pty-req",
          "window-change",
          "signal",
          "break",
          "subsystem",
          "x11-req",
          "auth-agent-req@openssh.com",
          "auth-agent-req",
          "xon-xoff",
          "eow@openssh.com",
          "keepalive@openssh.com",
          "exit-status",
          "simple@putty.projects.tartarus.org");

  /** Requests that would start a process in the sandbox. */
  private static final Set<String> STARTS_A_PROCESS = Set.of("exec", "shell");

  /** Small limits, so that inputs reach them. */
  private static final GatewayConfig.Limits LIMITS = smallLimits(GatewayConfig.defaults().limits());

  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private static final AllocationBudget budget = AllocationBudget.thisThread(32 << 20);

  private static final InProcessGateway gateway;

  static {
    try {
      gateway = InProcessGateway.start(GatewayConfig.defaults().withLimits(LIMITS));
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(GatewayChannelSessionFuzzTest::stop));
  }

  private static GatewayConfig.Limits smallLimits(GatewayConfig.Limits d) {
    return new GatewayConfig.Limits(
        300,
        100,
        16,
        3,
        d.maxSessionsPerConnection(),
        d.maxChannelsPerConnection(),
        d.maxConnectionsPerOwner(),
        d.maxConnectionsPerSandbox());
  }

  private static void stop() {
    try {
      gateway.close();
    } catch (Exception e) {
      // the JVM is ending
    }
  }

  @FuzzTest
  // Per input: JUnit's in regression runs (in a thread of its own, so that a busy loop fails too),
  // libFuzzer's -timeout while fuzzing (see the "fuzz" execution in the parent pom).
  @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void requests(byte[] input) throws Exception {
    budget.run("a channel with " + input.length + " bytes of requests", () -> onChannel(input));
  }

  private static void onChannel(byte[] input) throws Exception {
    ClientSession ssh = gateway.session();
    ChannelSession client = new ChannelSession();
    ssh.getService(ConnectionService.class).registerChannel(client);
    client.open().verify(TIMEOUT);
    try {
      GatewayChannelSession channel =
          (GatewayChannelSession) gateway.serverChannel(ssh, client.getRecipient());
      ByteBuffer in = ByteBuffer.wrap(input);
      for (int n = 0; n < MAX_REQUESTS && in.remaining() >= 4; n++) {
        int type = in.get() & 0xff;
        boolean wantReply = (in.get() & 1) != 0;
        byte[] payload = new byte[Math.min(in.getShort() & 0xffff, in.remaining())];
        in.get(payload);
        Buffer request = request(type, wantReply, payload);
        if (request == null) {
          continue;
        }
        try {
          channel.handleRequest(request);
        } catch (BufferException e) {
          // A field ran past the payload's end: MINA drops the connection, as OpenSSH does.
        }
        checkWithinLimits(channel);
      }
    } catch (Throwable failure) {
      client.close(true);
      throw failure;
    }
    assertThat(client.close(false).await(TIMEOUT)).as("the channel closed").isTrue();
    assertThat(ssh.isOpen()).as("the SSH connection").isTrue();
  }

  /** The SSH_MSG_CHANNEL_REQUEST body after the recipient: type, want-reply, payload. */
  private static Buffer request(int typeByte, boolean wantReply, byte[] payload) {
    int index = typeByte % (TYPES.size() + 1);
    Buffer buffer = new ByteArrayBuffer(payload.length + 64);
    if (index < TYPES.size()) {
      buffer.putString(TYPES.get(index));
      buffer.putBoolean(wantReply);
      buffer.putRawBytes(payload);
      return buffer;
    }
    // A type of the fuzzer's own, spelled by the payload: the first SSH string, the rest its data.
    Buffer spelled = new ByteArrayBuffer(payload);
    String type;
    try {
      type = spelled.getString();
    } catch (BufferException e) {
      return null;
    }
    if (STARTS_A_PROCESS.contains(type)) {
      return null;
    }
    buffer.putString(type);
    buffer.putBoolean(wantReply);
    buffer.putRawBytes(spelled.array(), spelled.rpos(), spelled.available());
    return buffer;
  }

  private static void checkWithinLimits(GatewayChannelSession channel) {
    Map<String, String> accepted = channel.acceptedEnv();
    assertThat(accepted.size())
        .as("accepted env variables")
        .isLessThanOrEqualTo(LIMITS.maxEnvVars());
    accepted.forEach(
        (name, value) -> {
          // The default allow-list, spelled out here rather than asked of the policy under test.
          assertThat(
                  Set.of("LANG", "TERM", "COLORTERM", "GIT_PROTOCOL").contains(name)
                      || name.startsWith("LC_"))
              .as("env name %s allowed", name)
              .isTrue();
          assertThat(value.getBytes(StandardCharsets.UTF_8).length)
              .as("env %s value size", name)
              .isLessThanOrEqualTo(LIMITS.maxEnvValueBytes());
          assertThat(value).as("env %s value", name).doesNotContain("\0");
        });
    PtyRequest pty = channel.pty();
    if (pty != null) {
      assertThat(pty.term()).matches("[A-Za-z0-9._+-]{1,64}");
      assertThat(pty.cols()).isBetween(1, LIMITS.maxPtyCols());
      assertThat(pty.rows()).isBetween(1, LIMITS.maxPtyRows());
    }
  }
}
