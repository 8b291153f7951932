package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code SANDBOX+NAME}: sessions that outlive their connection, shared and watched, detached
 * commands, the process table, attaching by pid, and a gateway restart under an agent that outlives
 * it, through the OpenSSH client.
 */
@Tag("e2e")
class NamedSessionTest {
  private static final String SANDBOX = GatewayFixture.SANDBOX;

  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void aShellSurvivesAKilledClientWithItsStateAndWhatItPrintedMeanwhile() throws Exception {
    Path done = gateway.sandboxDir(SANDBOX).resolve("while-detached.done");
    String shellPid;
    try (SshTerminal first = SshTerminal.open(ssh, SANDBOX + "+work")) {
      first
          .type("cd /tmp; export KEPT=value-$((6*7)); sleep 302 & echo started-$((1+1))\n")
          .await("started-2");
      // printf, so that the echoed command line does not contain what the wait looks for.
      first.type("printf 'pid-%s-%s\\n' $$ end\n").await("-end");
      shellPid = between(first.output(), "pid-", "-end");
      first
          .type("(until [ -e ~/print.go ]; do sleep 0.05; done;")
          .type(" echo printed-while-$((2+3))-away; touch ~/while-detached.done) &")
          .type(" echo bg-$((8+1))\n")
          .await("bg-9");
      first.kill();
    }
    // The shell prints once the gateway knows that no client is attached.
    awaitClients(SANDBOX, "work", 0);
    gateway.writeInSandbox(SANDBOX, "print.go", new byte[0]);
    Eventually.until(
        "the shell wrote while detached", Timeouts.EVENTUALLY, () -> Files.exists(done));

    try (SshTerminal again = SshTerminal.open(ssh, SANDBOX + "+work")) {
      again.await("printed-while-5-away");
      again.type("echo \"state:$$:$PWD:$KEPT:$(jobs -r | grep -c 'sleep 302')\"\n");
      again.await("state:" + shellPid + ":/tmp:value-42:1");
      again.type("exit\n");
      assertThat(again.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  @Test
  void twoClientsShareOneSessionAndEachSeesTheOthersInput() throws Exception {
    try (SshTerminal a = SshTerminal.open(ssh, SANDBOX + "+pair");
        SshTerminal b = SshTerminal.open(ssh, SANDBOX + "+pair")) {
      a.type("echo a-is-$((10+1))\n").await("a-is-11");
      b.await("a-is-11");
      b.type("echo b-is-$((20+2))\n").await("b-is-22");
      a.await("echo b-is-$((20+2))").await("b-is-22");
      a.type("exit\n");
      assertThat(a.awaitExit(Timeouts.COMMAND)).isZero();
      assertThat(b.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  @Test
  void aReadOnlyClientSeesTheSessionButCannotType() throws Exception {
    Path typed = gateway.sandboxDir(SANDBOX).resolve("typed-by-watcher");
    try (SshTerminal owner = SshTerminal.open(ssh, SANDBOX + "+watched")) {
      owner.type("echo ready-$((3*3))\n").await("ready-9");
      SshTerminal watcher = SshTerminal.open(ssh, SANDBOX + "+watched+ro");
      watcher.await("ready-9");
      watcher.type("touch ~/typed-by-watcher\n");
      owner.type("echo after-$((4*4))\n").await("after-16");
      watcher.await("after-16");
      assertThat(typed).doesNotExist();
      assertThat(owner.output()).doesNotContain("typed-by-watcher");

      OpenSsh.Result command = ssh.ssh(SANDBOX + "+watched+ro", "touch ~/typed-by-watcher");
      assertThat(command.exitCode()).isEqualTo(255);
      assertThat(command.stderr())
          .isEqualTo("sandbox demo: +ro watches session watched and takes no command\n");
      assertThat(typed).doesNotExist();
      owner.type("exit\n");
      assertThat(watcher.awaitExit(Timeouts.COMMAND)).isZero();
      watcher.close();
    }
  }

  @Test
  void aDetachedCommandIsReattachedWithAllItsOutputAndItsOwnStatus() throws Exception {
    // Each part of its output waits for a file the test creates: 2-15 come while no client is
    // attached, 16-30 after the next one attached.
    Process client = OpenSsh.start(ssh.sshCommand(SANDBOX + "+job", JOB));
    Process reattach = null;
    try {
      assertThat(OpenSsh.firstLine(client)).isEqualTo("1");
      client.destroyForcibly();
      client.waitFor();
      awaitClients(SANDBOX, "job", 0);
      gateway.writeInSandbox(SANDBOX, "job.detached", new byte[0]);

      OpenSsh.Result twice = ssh.ssh(SANDBOX + "+job", "echo second");
      assertThat(twice.exitCode()).isEqualTo(255);
      assertThat(twice.stderr())
          .isEqualTo(
              "sandbox demo: session job is still running; attach to it with ssh demo+job@ and"
                  + " no command\n");

      reattach = OpenSsh.start(ssh.sshCommand(SANDBOX + "+job", null));
      assertThat(
              attachedOutput(
                  reattach, () -> gateway.writeInSandbox(SANDBOX, "job.attached", new byte[0])))
          .isEqualTo(IntStream.rangeClosed(1, 30).mapToObj(Integer::toString).toList());
      assertThat(reattach.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
      assertThat(reattach.exitValue()).as(stderr(reattach)).isEqualTo(7);
    } finally {
      client.destroyForcibly();
      if (reattach != null) {
        reattach.destroyForcibly();
      }
    }
  }

  @Test
  void aCommandThatEndedWhileDetachedHandsItsOutputAndStatusToTheNextAttachOnce() throws Exception {
    Path done = gateway.sandboxDir(SANDBOX).resolve("quick.done");
    Process client =
        OpenSsh.start(
            ssh.sshCommand(
                SANDBOX + "+quick",
                "echo begin; echo to-stderr >&2; sleep 1; echo end; touch ~/quick.done; exit 3"));
    try {
      assertThat(OpenSsh.firstLine(client)).isEqualTo("begin");
      client.destroyForcibly();
      Eventually.until("the command finished", Timeouts.EVENTUALLY, () -> Files.exists(done));
      Eventually.until(
          "the command is gone from the table",
          Timeouts.EVENTUALLY,
          () -> !ssh.ssh(SANDBOX + "+ps", null).stdout().contains("quick"));

      OpenSsh.Result collected = ssh.ssh(SANDBOX + "+quick", null);
      assertThat(collected.stdout()).isEqualTo("begin\nend\n");
      assertThat(collected.stderr()).isEqualTo("to-stderr\n");
      assertThat(collected.exitCode()).isEqualTo(3);

      // Collected: the name is free, and a new shell starts under it.
      OpenSsh.Result fresh = ssh.ssh(SANDBOX + "+quick", "echo new-command");
      assertThat(fresh.stdout()).isEqualTo("new-command\n");
      assertThat(fresh.exitCode()).isZero();
    } finally {
      client.destroyForcibly();
    }
  }

  @Test
  void theProcessTableListsSessionsAndAPidCanBeAttached() throws Exception {
    try (SshTerminal session = SshTerminal.open(ssh, SANDBOX + "+listed")) {
      session.type("echo up-$((5+5))\n").await("up-10");

      OpenSsh.Result table = ssh.ssh(SANDBOX + "+ps", null);
      assertThat(table.exitCode()).isZero();
      List<String> lines = table.stdout().lines().toList();
      assertThat(lines.get(0)).matches("PID +SESSION +PTY +CLIENTS +STARTED +COMMAND");
      String row = lines.stream().filter(l -> l.contains(" listed ")).findFirst().orElseThrow();
      Matcher m =
          Pattern.compile("([0-9]+) +listed +yes +1 +\\d{4}-\\d\\d-\\d\\d \\S+ +/bin/bash -l")
              .matcher(row);
      assertThat(m.matches()).as(row).isTrue();
      String pid = m.group(1);

      try (SshTerminal byPid = SshTerminal.open(ssh, SANDBOX + "+" + pid)) {
        byPid.type("echo via-pid-$((7+7))\n").await("via-pid-14");
        session.await("via-pid-14");
        assertThat(ssh.ssh(SANDBOX + "+ps", null).stdout().lines())
            .as("the session's row, with both clients")
            .anyMatch(l -> l.matches(pid + " +listed +yes +2 .*"));
      }
      session.type("exit\n");
      assertThat(session.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  @Test
  void badNamesUnknownProgramsAndMissingPidsGetOneLineAndStatus255() throws Exception {
    OpenSsh.Result badName = ssh.ssh(SANDBOX + "+Not_A_Label", "true");
    assertThat(badName.exitCode()).isEqualTo(255);
    assertThat(badName.stderr())
        .isEqualTo(
            "sandbox demo: bad session name 'Not_A_Label': a session name is 1-63 lowercase"
                + " letters, digits and inner dashes\n");

    OpenSsh.Result noProgram = ssh.ssh(SANDBOX + "+typo", "no-such-program-here --flag");
    assertThat(noProgram.exitCode()).isEqualTo(255);
    assertThat(noProgram.stderr())
        .isEqualTo(
            "sandbox demo: session typo not started: no-such-program-here: command not found\n");
    assertThat(ssh.ssh(SANDBOX + "+ps", null).stdout()).doesNotContain("typo");

    OpenSsh.Result noPid = ssh.ssh(SANDBOX + "+999999", null);
    assertThat(noPid.exitCode()).isEqualTo(255);
    assertThat(noPid.stderr()).isEqualTo("sandbox demo: no running process with pid 999999\n");

    Process plain = OpenSsh.start(ssh.sshCommand(SANDBOX, "echo plain-up; sleep 303"));
    try {
      assertThat(OpenSsh.firstLine(plain)).isEqualTo("plain-up");
      String row =
          ssh.ssh(SANDBOX + "+ps", null)
              .stdout()
              .lines()
              .filter(l -> l.endsWith("sleep 303"))
              .findFirst()
              .orElseThrow();
      String pid = row.substring(0, row.indexOf(' '));
      OpenSsh.Result plainsOwn = ssh.ssh(SANDBOX + "+" + pid, null);
      assertThat(plainsOwn.exitCode()).isEqualTo(255);
      assertThat(plainsOwn.stderr())
          .isEqualTo(
              "sandbox demo: process "
                  + pid
                  + " belongs to a plain login, whose output only that login sees; share a"
                  + " session by starting it as demo+NAME\n");
    } finally {
      plain.destroyForcibly();
    }

    OpenSsh.Result watchNothing = ssh.ssh(SANDBOX + "+nobody+ro", null);
    assertThat(watchNothing.exitCode()).isEqualTo(255);
    assertThat(watchNothing.stderr()).isEqualTo("sandbox demo: no session nobody to watch\n");
  }

  @Test
  void anotherOwnersKeyIsDeniedOnEveryForm() throws Exception {
    Path bob = gateway.addOwner("bob");
    OpenSsh asBob = ssh.withIdentity(bob);
    for (String user :
        List.of(SANDBOX + "+work", SANDBOX + "+ps", SANDBOX + "+1", SANDBOX + "+x+ro", "alice")) {
      OpenSsh.Result r = asBob.ssh(user, "true");
      assertThat(r.exitCode()).as(user).isEqualTo(255);
      assertThat(r.stderr()).as(user).contains("Permission denied (publickey)");
    }
  }

  @Test
  void aRestartedGatewayReattachesToSessionsThatLiveInARemoteAgent() throws Exception {
    try (StandaloneAgent agent =
        StandaloneAgent.start(Files.createDirectories(dir.resolve("far")))) {
      gateway.addRemoteSandbox("far", GatewayFixture.OWNER, agent.endpoint(), agent.token());
      // The remote agent's home is far/home on this host, as it runs unconfined.
      Path farHome = dir.resolve("far").resolve("home");
      Process job = OpenSsh.start(ssh.sshCommand("far+job", JOB));
      try (SshTerminal shell = SshTerminal.open(ssh, "far+keep")) {
        assertThat(OpenSsh.firstLine(job)).isEqualTo("1");
        shell.type("export KEPT=yes-$((1+1))\n").type("echo set-$((3+3))\n").await("set-6");
        job.destroyForcibly();
        shell.kill();
      } finally {
        job.destroyForcibly();
      }

      gateway.restart();
      // Lines 2-15 come before a client of the restarted gateway attached, 16-30 after.
      Files.createFile(farHome.resolve("job.detached"));

      Process reattach = OpenSsh.start(ssh.sshCommand("far+job", null));
      try {
        assertThat(
                attachedOutput(reattach, () -> Files.createFile(farHome.resolve("job.attached"))))
            .isEqualTo(IntStream.rangeClosed(1, 30).mapToObj(Integer::toString).toList());
        assertThat(reattach.waitFor(Timeouts.COMMAND.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(reattach.exitValue()).as(stderr(reattach)).isEqualTo(7);
      } finally {
        reattach.destroyForcibly();
      }
      try (SshTerminal shell = SshTerminal.open(ssh, "far+keep")) {
        shell.type("echo \"kept=$KEPT\"\n").await("kept=yes-2");
        shell.type("exit\n");
        assertThat(shell.awaitExit(Timeouts.COMMAND)).isZero();
      }
    }
  }

  @Test
  void aRestartedGatewayTakesOverTheLocalAgentWithItsSessions() throws Exception {
    try (SshTerminal shell = SshTerminal.open(ssh, SANDBOX + "+survivor")) {
      shell.type("export KEPT=local-$((2+5))\n").type("echo set-$((4+4))\n").await("set-8");
      shell.kill();
    }
    long agentBefore = SandboxProcesses.agentOf(gateway, SANDBOX).orElseThrow().pid();

    gateway.restart();

    try (SshTerminal shell = SshTerminal.open(ssh, SANDBOX + "+survivor")) {
      shell.type("echo \"kept=$KEPT\"\n").await("kept=local-7");
      assertThat(SandboxProcesses.agentOf(gateway, SANDBOX).orElseThrow().pid())
          .as("the same agent, taken over")
          .isEqualTo(agentBefore);
      assertThat(ssh.ssh(SANDBOX, "echo plain-after").stdout()).isEqualTo("plain-after\n");
      shell.type("exit\n");
      assertThat(shell.awaitExit(Timeouts.COMMAND)).isZero();
    }
  }

  /**
   * A detached command that prints 1, then 2-15 once {@code ~/job.detached} exists, then 16-30 once
   * {@code ~/job.attached} exists, and exits with status 7.
   */
  private static final String JOB =
      "echo 1; until [ -e ~/job.detached ]; do sleep 0.05; done; for i in $(seq 2 15); do echo"
          + " $i; done; until [ -e ~/job.attached ]; do sleep 0.05; done; for i in $(seq 16 30);"
          + " do echo $i; done; exit 7";

  /** What a client attached to {@link #JOB} reads: {@code go} runs once it has read line 15. */
  private static List<String> attachedOutput(Process client, Step go) throws Exception {
    client.getOutputStream().close();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
    List<String> lines = new ArrayList<>();
    for (String line; (line = OpenSsh.nextLine(out)) != null; ) {
      lines.add(line);
      if (line.equals("15")) {
        go.run();
      }
    }
    return lines;
  }

  /** What an exited client printed on stderr. */
  private static String stderr(Process client) throws Exception {
    return new String(client.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
  }

  /** Something that may throw. */
  private interface Step {
    void run() throws Exception;
  }

  /** Waits until the process table shows session {@code name} with {@code clients} clients. */
  private static void awaitClients(String sandbox, String name, int clients) {
    Pattern row = Pattern.compile("[0-9]+ +" + Pattern.quote(name) + " +\\S+ +" + clients + " .*");
    Eventually.until(
        "session " + name + " with " + clients + " clients in the process table",
        Timeouts.EVENTUALLY,
        () ->
            ssh.ssh(sandbox + "+ps", null)
                .stdout()
                .lines()
                .anyMatch(l -> row.matcher(l).matches()));
  }

  private static String between(String text, String start, String end) {
    Matcher m =
        Pattern.compile(Pattern.quote(start) + "([0-9]+)" + Pattern.quote(end)).matcher(text);
    assertThat(m.find()).as(text).isTrue();
    return m.group(1);
  }
}
