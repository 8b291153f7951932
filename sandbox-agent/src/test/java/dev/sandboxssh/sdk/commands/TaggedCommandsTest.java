package dev.sandboxssh.sdk.commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.CommandResult;
import dev.sandboxssh.sdk.Commands;
import dev.sandboxssh.sdk.ProcessInfo;
import dev.sandboxssh.sdk.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tagged background commands, what named sessions are made of: they keep their output for a
 * re-attach, hand a status that nobody saw to the next Connect by tag, count their attached
 * callers, and end once unattended for their timeout.
 */
class TaggedCommandsTest {
  static final Duration WAIT = CommandsTest.WAIT;

  @TempDir static Path tmp;
  static RootedAgentFixture agent;
  static Commands commands;

  @BeforeAll
  static void start() throws Exception {
    agent = RootedAgentFixture.unconfined(tmp);
    commands = agent.sandbox().commands();
  }

  @AfterAll
  static void stop() {
    agent.close();
  }

  @Test
  void aTaggedCommandReplaysStdoutAndStderrApartAndItsStatusOnce() throws Exception {
    Path done = agent.sandboxDir().resolve("tagged.done");
    OutputCollector first = new OutputCollector();
    CommandHandle started =
        commands.run(
            "echo one; echo two >&2; read line; echo three; touch tagged.done; exit 5",
            CommandOptions.create().background(true).tag("replayed").onStdout(first));
    assertThat(first.await("one", WAIT)).isTrue();
    started.disconnect();
    commands.sendStdin(started.pid(), "go\n".getBytes());
    waitForFile(done);

    OutputCollector out = new OutputCollector();
    OutputCollector err = new OutputCollector();
    CommandHandle collected =
        commands.connect("replayed", CommandOptions.create().onStdout(out).onStderr(err));
    CommandResult result = collected.waitFor(WAIT);
    assertThat(result.exitCode()).isEqualTo(5);
    assertThat(out.text()).isEqualTo("one\nthree\n");
    assertThat(err.text()).isEqualTo("two\n");

    assertThatThrownBy(() -> commands.connect("replayed", CommandOptions.create()))
        .as("collected once: the tag is free")
        .isInstanceOfSatisfying(
            SandboxException.class,
            e -> assertThat(e.code()).isEqualTo(SandboxException.Code.NOT_FOUND));
  }

  @Test
  void theListCountsAttachedCallers() throws Exception {
    CommandHandle started =
        commands.run("sleep 30", CommandOptions.create().background(true).tag("counted"));
    waitUntil(() -> attached(started.pid()) == 1);
    CommandHandle second = commands.connect(started.pid(), CommandOptions.create());
    waitUntil(() -> attached(started.pid()) == 2);
    started.disconnect();
    second.disconnect();
    waitUntil(() -> attached(started.pid()) == 0);
    commands.kill(started.pid());
  }

  @Test
  void anUnattendedCommandIsHungUpAfterItsTimeoutAndAnAttachedOneIsNot() throws Exception {
    CommandHandle watched =
        commands.run(
            "sleep 30",
            CommandOptions.create()
                .background(true)
                .tag("watched")
                .unattendedTimeout(Duration.ofMillis(300)));
    CommandHandle left =
        commands.run(
            "sleep 30",
            CommandOptions.create()
                .background(true)
                .tag("left")
                .unattendedTimeout(Duration.ofMillis(300)));
    left.disconnect();
    waitUntil(() -> commands.list().stream().noneMatch(p -> p.tag().equals("left")));

    CommandResult leftEnd = commands.connect(left.pid(), CommandOptions.create()).waitFor(WAIT);
    assertThat(leftEnd.signal()).isEqualTo("HUP");
    assertThat(watched.waitFor(Duration.ofSeconds(1))).as("still attached, still running").isNull();
    watched.kill();
  }

  @Test
  void twoStartsRacingForOneTagLetExactlyOneWin() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<CommandHandle>> tries = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        tries.add(
            pool.submit(
                () ->
                    commands.run(
                        "sleep 30", CommandOptions.create().background(true).tag("race"))));
      }
      List<CommandHandle> winners = new ArrayList<>();
      int refused = 0;
      for (Future<CommandHandle> f : tries) {
        try {
          winners.add(f.get());
        } catch (java.util.concurrent.ExecutionException e) {
          assertThat(e.getCause()).isInstanceOf(SandboxException.class);
          assertThat(((SandboxException) e.getCause()).code())
              .isEqualTo(SandboxException.Code.ALREADY_EXISTS);
          refused++;
        }
      }
      assertThat(winners).hasSize(1);
      assertThat(refused).isEqualTo(7);
      assertThat(commands.list().stream().filter(p -> p.tag().equals("race"))).hasSize(1);
      winners.get(0).kill();
    } finally {
      pool.shutdownNow();
    }
  }

  private static int attached(int pid) {
    return commands.list().stream()
        .filter(p -> p.pid() == pid)
        .mapToInt(ProcessInfo::attached)
        .findFirst()
        .orElse(-1);
  }

  private static void waitUntil(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(condition.getAsBoolean()).isTrue();
  }

  private static void waitForFile(Path file) throws InterruptedException {
    waitUntil(() -> Files.exists(file));
  }
}
