package dev.sandboxssh.bench;

import dev.sandboxssh.agent.AgentConfig;
import dev.sandboxssh.agent.AgentServer;
import dev.sandboxssh.agent.ListenAddress;
import dev.sandboxssh.gateway.routing.ChildAgent;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.CommandResult;
import dev.sandboxssh.sdk.Commands;
import dev.sandboxssh.sdk.Sandbox;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The gateway-agent chunk path without SSH: the SDK, as the gateway uses it, against a real agent
 * on a unix socket, moving 256 MiB per operation.
 *
 * <p>Primary score: transfers/s; the {@code :mb} row is MB/s. Processes start from argv, not
 * through {@code bash -l -c}, whose start-up (profile scripts) would be measured too.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
// JNA (the agent's posix_spawn) is a restricted-method caller on JDK 22+.
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class ChunkPathBench {
  static final long TOTAL = 256L << 20;
  static final Duration TIMEOUT = Duration.ofMinutes(2);

  /**
   * in-process: agent and SDK share this JVM. child-jvm: the agent runs as the gateway starts it,
   * in a JVM of its own with a small serial-GC heap.
   */
  @Param({"in-process", "child-jvm"})
  public String agent;

  private Path tmp;
  private AgentServer server;
  private ChildAgent child;
  private Sandbox sandbox;
  private Commands commands;

  @Setup(Level.Trial)
  public void start() throws IOException {
    tmp = Files.createTempDirectory("jmh-chunk-").toRealPath();
    Path home = Files.createDirectories(tmp.resolve("home"));
    Path socket = tmp.resolve("agent.sock");
    String token = "bench-" + UUID.randomUUID();
    switch (agent) {
      case "in-process" ->
          server =
              AgentServer.listen(
                  new ListenAddress.Unix(socket), new AgentConfig(token, null, home));
      case "child-jvm" -> {
        Path tokenFile = Files.writeString(tmp.resolve("token"), token);
        child =
            ChildAgent.start(Files.createDirectories(tmp.resolve("tmp")), socket, tokenFile, home);
      }
      default -> throw new IllegalArgumentException("unknown agent " + agent);
    }
    sandbox = Sandbox.connect("unix:" + socket, token);
    sandbox.awaitReady(Duration.ofSeconds(30));
    commands = sandbox.commands();
  }

  @TearDown(Level.Trial)
  public void stop() throws IOException {
    if (sandbox != null) {
      sandbox.close();
    }
    if (server != null) {
      server.close();
    }
    if (child != null) {
      child.close();
    }
    try (Stream<Path> paths = Files.walk(tmp)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * {@code head -c 256M /dev/zero}, its stdout written to a stream ({@code stdoutTo}), as the
   * gateway's bridge receives it: each chunk is the received message's own array.
   */
  @Benchmark
  public long downloadStream(Megabytes moved) {
    CountingStream received = new CountingStream();
    return download(CommandOptions.create().background(true).stdoutTo(received), received, moved);
  }

  /** The same through {@code onStdout}, which hands the callback a copy of each chunk. */
  @Benchmark
  public long downloadCallback(Megabytes moved) {
    CountingStream received = new CountingStream();
    return download(
        CommandOptions.create()
            .background(true)
            .onStdout(data -> received.write(data, 0, data.length)),
        received,
        moved);
  }

  private long download(CommandOptions options, CountingStream received, Megabytes moved) {
    finish(commands.start(List.of("head", "-c", Long.toString(TOTAL), "/dev/zero"), options));
    if (received.count != TOTAL) {
      throw new IllegalStateException("received " + received.count + " of " + TOTAL + " bytes");
    }
    moved.add(TOTAL);
    return received.count;
  }

  /** Chunks for {@link #upload}: its own state, so that only upload runs once per size. */
  @State(Scope.Benchmark)
  public static class Input {
    /** 32 KiB: one SSH packet per message. 256 KiB: the most the gateway's bridge sends at once. */
    @Param({"32768", "262144"})
    public int chunkBytes;

    byte[] chunk;

    @Setup(Level.Trial)
    public void allocate() {
      chunk = new byte[chunkBytes];
    }
  }

  /** 256 MiB written with {@code sendStdin} into {@code wc -c}, which counts them. */
  @Benchmark
  public long upload(Input input, Megabytes moved) {
    CommandHandle handle =
        commands.start(List.of("wc", "-c"), CommandOptions.create().background(true));
    for (long sent = 0; sent < TOTAL; sent += input.chunk.length) {
      handle.sendStdin(input.chunk);
    }
    handle.closeStdin();
    long counted = Long.parseLong(finish(handle).stdout().strip());
    if (counted != TOTAL) {
      throw new IllegalStateException("the process read " + counted + " of " + TOTAL + " bytes");
    }
    moved.add(TOTAL);
    return counted;
  }

  /** Counts what it is given; written by the handle's delivery thread, read after the exit. */
  private static final class CountingStream extends OutputStream {
    volatile long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }

  private static CommandResult finish(CommandHandle handle) {
    CommandResult result = handle.waitFor(TIMEOUT);
    if (result == null) {
      handle.kill();
      throw new IllegalStateException("not done after " + TIMEOUT.toSeconds() + " s");
    }
    if (result.exitCode() == null || result.exitCode() != 0) {
      throw new IllegalStateException(
          "exit " + result.exitCode() + " signal " + result.signal() + ": " + result.stderr());
    }
    return result;
  }
}
