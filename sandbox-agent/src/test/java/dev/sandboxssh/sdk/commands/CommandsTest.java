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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The E2B command scenarios, through the SDK, against a real agent on a unix socket. */
class CommandsTest {
  static final Duration WAIT = Duration.ofSeconds(20);

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
  void runReturnsExitCodeStdoutAndStderrApart() {
    CommandResult r = commands.run("echo out; echo err >&2; exit 3");
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.signal()).isNull();
    assertThat(r.stdout()).isEqualTo("out\n");
    assertThat(r.stderr()).isEqualTo("err\n");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 126, 127, 128, 129, 130, 143, 200, 255})
  void exitStatusIsExact(int status) {
    CommandResult r = commands.run("exit " + status);
    assertThat(r.exitCode()).isEqualTo(status);
    assertThat(r.signal()).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"TERM", "KILL", "INT", "SEGV"})
  void deathBySignalIsReportedAsTheSignal(String signal) {
    CommandResult r = commands.run("kill -" + signal + " $$");
    assertThat(r.exitCode()).isNull();
    assertThat(r.signal()).isEqualTo(signal);
  }

  @Test
  void backgroundCommandDeliversOutputAndCanBeKilled() throws Exception {
    OutputCollector out = new OutputCollector();
    CommandHandle handle =
        commands.run(
            "echo hello; sleep 10; echo world",
            CommandOptions.create().background(true).onStdout(out));
    assertThat(out.await("hello", WAIT)).isTrue();
    handle.kill();
    CommandResult r = handle.waitFor(WAIT);
    assertThat(r).isNotNull();
    assertThat(r.signal()).isEqualTo("KILL");
    assertThat(out.text()).isEqualTo("hello\n");
  }

  @Test
  void waitForReturnsTheExitCode() {
    assertThat(commands.run("exit 7", CommandOptions.create()).waitFor().exitCode()).isEqualTo(7);
  }

  @Test
  void listShowsRunningBackgroundCommandsAndTerminalsButNotExitedOnes() throws Exception {
    CommandHandle sleeper = commands.run("sleep 300", CommandOptions.create().background(true));
    CommandHandle terminal =
        agent.sandbox().pty().create(80, 24, new OutputCollector(), Duration.ZERO);
    CommandHandle done = commands.run("true", CommandOptions.create().background(true));
    done.waitFor();

    var processes = commands.list();
    assertThat(processes)
        .anySatisfy(
            p -> {
              assertThat(p.pid()).isEqualTo(sleeper.pid());
              assertThat(p.cmd()).isEqualTo("/bin/bash");
              assertThat(p.args()).containsExactly("-l", "-c", "sleep 300");
              assertThat(p.background()).isTrue();
            })
        .anySatisfy(p -> assertThat(p.pid()).isEqualTo(terminal.pid()))
        .noneSatisfy(p -> assertThat(p.pid()).isEqualTo(done.pid()));
    assertThat(processes.stream().filter(p -> p.pid() == terminal.pid()).findFirst())
        .get()
        .extracting(ProcessInfo::pty)
        .isEqualTo(true);

    assertThat(commands.kill(sleeper.pid())).isTrue();
    assertThat(commands.kill(terminal.pid())).isTrue();
    sleeper.waitFor(WAIT);
    terminal.waitFor(WAIT);
    assertThat(commands.list()).noneSatisfy(p -> assertThat(p.pid()).isEqualTo(sleeper.pid()));
    assertThat(commands.kill(sleeper.pid())).isFalse();
  }

  @Test
  void aTerminalWhoseShellExitedCannotBeKilledWhileItsOutputDrains() throws Exception {
    // A background job keeps the terminal open after its shell exits, so the shell's end waits
    // for the output to drain: the window in which list() no longer shows the shell but the
    // agent still holds it. A kill in that window reaches nothing and must say so.
    OutputCollector out = new OutputCollector();
    CommandHandle terminal = agent.sandbox().pty().create(80, 24, out, Duration.ZERO);
    terminal.sendStdin("sleep 4 & echo bg-$((6*7)); exit 3\n".getBytes(StandardCharsets.UTF_8));
    assertThat(out.await("bg-42", WAIT)).as(out.text()).isTrue();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (commands.list().stream().anyMatch(p -> p.pid() == terminal.pid())) {
      assertThat(System.nanoTime()).as("the shell to leave the list").isLessThan(deadline);
      Thread.sleep(20);
    }

    assertThat(commands.kill(terminal.pid())).isFalse();
    assertThatThrownBy(() -> commands.signal(terminal.pid(), "TERM", false))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("no process with pid " + terminal.pid());
    CommandResult r = terminal.waitFor(WAIT);
    assertThat(r).isNotNull();
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.error()).as("a kill that reached nothing is not its end").isNull();
  }

  @Test
  void terminalReportsItsSizeAndFollowsResize() throws Exception {
    OutputCollector out = new OutputCollector();
    CommandHandle terminal = agent.sandbox().pty().create(80, 24, out, Duration.ZERO);
    agent.sandbox().pty().sendInput(terminal.pid(), "stty size\n".getBytes(StandardCharsets.UTF_8));
    assertThat(out.await("24 80", WAIT)).as(out.text()).isTrue();
    agent.sandbox().pty().resize(terminal.pid(), 120, 40);
    agent.sandbox().pty().sendInput(terminal.pid(), "stty size\n".getBytes(StandardCharsets.UTF_8));
    assertThat(out.await("40 120", WAIT)).as(out.text()).isTrue();
    terminal.kill();
  }

  @Test
  void aTerminalsPathCanBeNamedInItsEnvironment() {
    CommandResult r =
        commands
            .run(
                "[ \"$SSH_TTY\" = \"$(tty)\" ] && echo same:$SSH_TTY",
                CommandOptions.create().pty(80, 24, "xterm", Map.of()).ptyPathEnv("SSH_TTY"))
            .waitFor(WAIT);
    assertThat(r.exitCode()).as(r.stdout()).isZero();
    assertThat(r.stdout()).startsWith("same:/dev/pts/");

    CommandResult unnamed =
        commands
            .run("echo \"[${SSH_TTY-unset}]\"", CommandOptions.create().pty(80, 24, "", Map.of()))
            .waitFor(WAIT);
    assertThat(unnamed.stdout()).isEqualTo("[unset]\r\n");
  }

  @Test
  void typedInputEchoes() throws Exception {
    OutputCollector out = new OutputCollector();
    CommandHandle terminal = agent.sandbox().pty().create(80, 24, out, Duration.ZERO);
    terminal.sendStdin("echo typed-$((6*7))\n".getBytes(StandardCharsets.UTF_8));
    assertThat(out.await("echo typed-$((6*7))", WAIT)).as("the echo of the typing").isTrue();
    assertThat(out.await("typed-42", WAIT)).as("the command's output").isTrue();
    terminal.kill();
  }

  @Test
  void reconnectingSeesOutputProducedWhileDisconnected() throws Exception {
    OutputCollector first = new OutputCollector();
    CommandHandle terminal = agent.sandbox().pty().create(80, 24, first, Duration.ZERO);
    terminal.sendStdin("echo before\n".getBytes(StandardCharsets.UTF_8));
    assertThat(first.await("before", WAIT)).isTrue();
    terminal.disconnect();

    Path marker = agent.sandboxDir().resolve("meanwhile.done");
    agent
        .sandbox()
        .pty()
        .sendInput(
            terminal.pid(),
            "echo while-away-$((1+1)); touch meanwhile.done\n".getBytes(StandardCharsets.UTF_8));
    waitForFile(marker);
    assertThat(first.text()).doesNotContain("while-away-2");

    OutputCollector second = new OutputCollector();
    CommandHandle again = agent.sandbox().pty().connect(terminal.pid(), second);
    assertThat(second.await("while-away-2", WAIT)).as(second.text()).isTrue();
    again.kill();
  }

  @Test
  void terminalTimeoutKillsItAndZeroMeansNone() throws Exception {
    CommandHandle limited =
        agent.sandbox().pty().create(80, 24, new OutputCollector(), Duration.ofSeconds(1));
    CommandResult r = limited.waitFor(WAIT);
    assertThat(r).as("ended by its timeout").isNotNull();
    assertThat(r.signal()).isEqualTo("KILL");
    assertThat(r.error()).contains("timeout");

    CommandHandle unlimited =
        agent.sandbox().pty().create(80, 24, new OutputCollector(), Duration.ZERO);
    assertThat(unlimited.waitFor(Duration.ofSeconds(3))).as("still running").isNull();
    unlimited.kill();
  }

  @ParameterizedTest
  @ValueSource(strings = {"HUP", "INT", "QUIT", "TERM", "USR1", "USR2", "WINCH"})
  void signalsReachTheProcess(String signal) throws Exception {
    OutputCollector out = new OutputCollector();
    CommandHandle handle =
        commands.run(
            "trap 'echo got-"
                + signal
                + "; exit 0' "
                + signal
                + "; echo ready;"
                + " while :; do sleep 0.05; done",
            CommandOptions.create().background(true).onStdout(out));
    assertThat(out.await("ready", WAIT)).isTrue();
    handle.signal(signal);
    assertThat(out.await("got-" + signal, WAIT)).as(out.text()).isTrue();
    assertThat(handle.waitFor(WAIT).exitCode()).isZero();
  }

  @Test
  void killSignalEndsTheProcessWithKill() {
    CommandHandle handle = commands.run("sleep 300", CommandOptions.create().background(true));
    handle.signal("KILL");
    assertThat(handle.waitFor(WAIT).signal()).isEqualTo("KILL");
  }

  @Test
  void stdinIsStreamedAndEofDelivered() {
    CommandHandle cat = commands.run("cat; echo end", CommandOptions.create());
    cat.sendStdin("one\n".getBytes(StandardCharsets.UTF_8));
    cat.sendStdin("two\n".getBytes(StandardCharsets.UTF_8));
    cat.closeStdin();
    assertThat(cat.waitFor().stdout()).isEqualTo("one\ntwo\nend\n");
  }

  @Test
  void foregroundCommandIsHungUpWhenItsCallerLeaves() throws Exception {
    Path marker = agent.sandboxDir().resolve("hung-up");
    OutputCollector out = new OutputCollector();
    CommandHandle handle =
        commands.run(
            // Written aside and renamed: the file must not be seen before its content is.
            "trap 'echo hup > hung-up.tmp; mv hung-up.tmp hung-up; exit 1' HUP;"
                + " echo ready; while :; do sleep 0.05; done",
            CommandOptions.create().onStdout(out));
    assertThat(out.await("ready", WAIT)).isTrue();
    handle.disconnect();
    waitForFile(marker);
    assertThat(Files.readString(marker)).isEqualTo("hup\n");
  }

  @Test
  void badRequestsGetClearErrorsAndHurtNothing() {
    assertThat(commands.kill(999_999)).isFalse();
    assertThatThrownBy(
            () -> commands.run("true", CommandOptions.create().pty(0, 0, "xterm", Map.of())))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("pty cols");
    assertThatThrownBy(
            () -> commands.run("true", CommandOptions.create().pty(100_000, 100_000, "", Map.of())))
        .isInstanceOf(SandboxException.class)
        .extracting(e -> ((SandboxException) e).code())
        .isEqualTo(SandboxException.Code.INVALID_ARGUMENT);
    assertThatThrownBy(
            () ->
                commands.run(
                    "true", CommandOptions.create().pty(80, 24, "", Map.of()).ptyPathEnv("A=B")))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("bad pty path_env name");
    assertThatThrownBy(
            () -> commands.run("true", CommandOptions.create().env("BIG", "x".repeat(1 << 20))))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("BIG");
    CommandHandle plain = commands.run("sleep 5", CommandOptions.create().background(true));
    assertThatThrownBy(() -> plain.resize(80, 24))
        .isInstanceOf(SandboxException.class)
        .extracting(e -> ((SandboxException) e).code())
        .isEqualTo(SandboxException.Code.FAILED_PRECONDITION);
    assertThatThrownBy(() -> plain.signal("NOPE"))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("unknown signal");
    plain.kill();
    assertThatThrownBy(
            () -> commands.start(java.util.List.of("no-such-program-x"), CommandOptions.create()))
        .isInstanceOf(SandboxException.class)
        .hasMessageContaining("not found");
    assertThat(commands.run("echo still fine").stdout()).isEqualTo("still fine\n");
  }

  private static void waitForFile(Path file) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!Files.exists(file) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(file).exists();
  }
}
