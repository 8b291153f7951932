package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a local sandbox is, checked from inside through ssh with the gateway as root: its own
 * unprivileged uid, no host secrets, its own network, and nothing of the gateway's paths.
 */
@Tag("e2e")
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IsolationTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;
  static OpenSsh ssh;

  @BeforeAll
  static void start() throws Exception {
    assertThat(ProcessHandle.current().info().user())
        .as("these tests run as root")
        .hasValue("root");
    gateway = GatewayFixture.start(dir);
    gateway.addSandbox("other", GatewayFixture.OWNER);
    ssh = gateway.ssh();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  private static OpenSsh.Result run(String sandbox, String command) {
    OpenSsh.Result r = ssh.ssh(sandbox, command);
    assertThat(r.stderr()).as("stderr of %s", command).doesNotContain("sandbox " + sandbox);
    return r;
  }

  @Test
  void theSandboxUserIsUid1000InHomeUserAndAnUnprivilegedHostUidOfItsOwn() throws Exception {
    OpenSsh.Result r = run("demo", "id -u; id -un; id -g; echo $HOME; pwd");
    assertThat(r.stdout()).isEqualTo("1000\nuser\n1000\n/home/user\n/home/user\n");
    assertThat(run("other", "id -u").stdout()).isEqualTo("1000\n");

    // On the host, each agent runs as a uid of the range, its own, which owns its directory.
    long demoHostUid = hostUid(SandboxProcesses.agentOf(gateway, "demo").orElseThrow());
    long otherHostUid = hostUid(SandboxProcesses.agentOf(gateway, "other").orElseThrow());
    assertThat(demoHostUid).isBetween(300_000L, 399_999L);
    assertThat(otherHostUid).isBetween(300_000L, 399_999L).isNotEqualTo(demoHostUid);
    assertThat(Files.getAttribute(gateway.sandboxDir("demo"), "unix:uid"))
        .isEqualTo((int) demoHostUid);
    assertThat(Files.getAttribute(gateway.sandboxDir("other"), "unix:uid"))
        .isEqualTo((int) otherHostUid);
  }

  @Test
  void aPackagedGatewaysAgentRunsFromTheAgentsOwnJar() throws Exception {
    assertThat(PackagedGateway.JAR).as("the packaged gateway (mvn package)").isRegularFile();
    ProcessHandle agent = SandboxProcesses.agentOf(gateway, "demo").orElseThrow();
    // The classpath as the agent sees it, inside its sandbox's root.
    Path jar = Path.of("/proc", Long.toString(agent.pid()), "root", "opt/sandbox-agent/lib/0.jar");
    try (java.util.jar.JarFile classpath = new java.util.jar.JarFile(jar.toFile())) {
      assertThat(classpath.getEntry("dev/sandboxssh/agent/AgentMain.class")).isNotNull();
      assertThat(classpath.getEntry("dev/sandboxssh/gateway/cli/GatewayMain.class")).isNull();
    }
  }

  /** The real uid of a process as the host sees it; the effective and saved ones must match. */
  @Test
  void aSecondGatewayOnTheSameUidRangeGivesItsSandboxesOtherUids(@TempDir Path secondDir)
      throws Exception {
    run("demo", "true");
    run("other", "true");
    long demoHostUid = hostUid(SandboxProcesses.agentOf(gateway, "demo").orElseThrow());
    long otherHostUid = hostUid(SandboxProcesses.agentOf(gateway, "other").orElseThrow());
    try (GatewayFixture second = GatewayFixture.start(secondDir)) {
      assertThat(second.config().local().uidRange()).isEqualTo(gateway.config().local().uidRange());
      second.addSandbox("other", GatewayFixture.OWNER);
      OpenSsh secondSsh = second.ssh();
      for (String sandbox : List.of("demo", "other")) {
        OpenSsh.Result r = secondSsh.ssh(sandbox, "id -u");
        assertThat(r.stdout()).as(r.stderr()).isEqualTo("1000\n");
      }
      long secondDemo = hostUid(SandboxProcesses.agentOf(second, "demo").orElseThrow());
      long secondOther = hostUid(SandboxProcesses.agentOf(second, "other").orElseThrow());
      assertThat(List.of(secondDemo, secondOther))
          .allSatisfy(uid -> assertThat(uid).isBetween(300_000L, 399_999L))
          .doesNotContain(demoHostUid, otherHostUid)
          .doesNotHaveDuplicates();
    }
  }

  private static long hostUid(ProcessHandle p) throws IOException {
    String status = Files.readString(Path.of("/proc", Long.toString(p.pid()), "status"));
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?m)^Uid:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$")
            .matcher(status);
    assertThat(m.find()).as("Uid line of %s", status).isTrue();
    assertThat(List.of(m.group(2), m.group(3), m.group(4))).containsOnly(m.group(1));
    return Long.parseLong(m.group(1));
  }

  @Test
  void hostSecretsAreNotReadable() throws Exception {
    Path planted = Path.of("/etc/sandbox-ssh-isolation-test-secret");
    Files.writeString(planted, "planted secret\n");
    Files.setPosixFilePermissions(planted, PosixFilePermissions.fromString("rw-------"));
    try {
      List<String> targets =
          new ArrayList<>(List.of("/etc/shadow", "/etc/gshadow", planted.toString()));
      try (var keys = Files.list(Path.of("/etc/ssh"))) {
        keys.filter(p -> p.getFileName().toString().matches("ssh_host_.*_key"))
            .forEach(p -> targets.add(p.toString()));
      }
      assertThat(targets).as("the host has SSH host keys to protect").hasSizeGreaterThan(3);
      assertThat(Files.readString(Path.of("/etc/shadow")))
          .as("host shadow is there")
          .contains("root:");
      for (String target : targets) {
        OpenSsh.Result r = run("demo", "cat " + target + "; echo status=$?");
        assertThat(r.stdout()).as(target).endsWith("status=1\n").doesNotContain("planted");
        assertThat(r.stderr()).as(target).contains(target);
      }
    } finally {
      Files.delete(planted);
    }
  }

  @Test
  void noFileUnderEtcOrUsrIsReadableInsideThatTheHostKeepsFromOrdinaryUsers() throws Exception {
    OpenSsh.Result r =
        ssh.ssh(
            "demo",
            "find /etc /usr -type f -readable -print0 2>/dev/null",
            new byte[0],
            Timeouts.TRANSFER);
    List<String> readable =
        Arrays.stream(new String(r.stdoutBytes(), StandardCharsets.UTF_8).split("\0"))
            .filter(p -> !p.isEmpty())
            .toList();
    assertThat(readable).as("files found inside").hasSizeGreaterThan(1000).contains("/etc/passwd");
    // Of those, the ones that exist on the host: can an ordinary uid read them there?
    StringBuilder onHost = new StringBuilder();
    for (String p : readable) {
      if (Files.isRegularFile(Path.of(p))) {
        onHost.append(p).append('\0');
      }
    }
    Process nobody =
        new ProcessBuilder(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                "import os,sys\n"
                    + "for p in sys.stdin.buffer.read().split(b'\\0'):\n"
                    + "  if p and not os.access(p, os.R_OK): print(p.decode())\n")
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try (var in = nobody.getOutputStream()) {
      in.write(onHost.toString().getBytes(StandardCharsets.UTF_8));
    }
    String hidden = new String(nobody.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(nobody.waitFor()).isZero();
    assertThat(hidden).as("readable inside, kept from ordinary users on the host").isEmpty();
  }

  @Test
  void theAgentsCommandLineInsideNamesNoHostPath() throws Exception {
    String ps = run("demo", "ps -eo args").stdout();
    assertThat(ps).contains("AgentMain").contains("bwrap");
    assertThat(ps).doesNotContain(dir.toAbsolutePath().toString());
    assertThat(ps).doesNotContain(gateway.config().dataDir().toAbsolutePath().toString());
    for (String entry : System.getProperty("java.class.path").split(":")) {
      assertThat(ps).doesNotContain(Path.of(entry).toAbsolutePath().getParent().toString());
    }
  }

  @Test
  void aLoopbackServerOfOneSandboxIsReachableNeitherFromAnotherNorFromTheHost() throws Exception {
    try (EchoServerInSandbox echo = EchoServerInSandbox.tcp(ssh)) {
      String port = Integer.toString(echo.port());
      // Inside the same sandbox it answers: the server is real.
      assertThat(InSandbox.connect(ssh, "demo", "127.0.0.1", echo.port()))
          .isEqualTo("reached ping");
      assertThat(InSandbox.connect(ssh, "other", "127.0.0.1", echo.port()))
          .isEqualTo("failed ConnectionRefusedError");
      try (Socket s = new Socket()) {
        s.connect(
            new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), echo.port()), 3000);
        throw new AssertionError("the host reached sandbox demo's loopback port " + port);
      } catch (java.net.ConnectException expected) {
        // Refused: the port is the sandbox's own.
      }
      // ssh -L and -D into demo still reach its server: the agent dials inside.
      int local = SshForward.freePort();
      try (SshForward fwd =
          SshForward.start(ssh, "-L", local + ":127.0.0.1:" + port).awaitLocalPort(local)) {
        EchoCheck.overTcp(local, 1 << 20);
      }
      int socks = SshForward.freePort();
      try (SshForward fwd =
              SshForward.start(ssh, "-D", Integer.toString(socks)).awaitLocalPort(socks);
          Socket s = Socks5.connect(socks, "127.0.0.1", echo.port())) {
        s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII))
            .isEqualTo("ping");
      }
    }
  }

  @Test
  void theHostsLoopbackIsUnreachableButOutboundConnectionsWork() throws Exception {
    try (EchoServerOnHost onLoopback = new EchoServerOnHost();
        EchoServerOnHost onInterface = new EchoServerOnHost(hostAddress())) {
      int port = onLoopback.port();
      assertThat(InSandbox.connect(ssh, "demo", "127.0.0.1", port))
          .isEqualTo("failed ConnectionRefusedError");
      // 10.0.2.2 is slirp4netns's address for the host; --disable-host-loopback must hold.
      assertThat(InSandbox.connect(ssh, "demo", "10.0.2.2", port)).startsWith("failed ");
      // The host's other addresses are outside, as any machine's would be: reachable.
      assertThat(
              InSandbox.connect(
                  ssh, "demo", onInterface.address().getHostAddress(), onInterface.port()))
          .isEqualTo("reached ping");
    }
  }

  /** A non-loopback IPv4 address of this host, for a server outside every sandbox. */
  private static InetAddress hostAddress() throws IOException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (nic.isUp() && !nic.isLoopback()) {
        for (InetAddress a : Collections.list(nic.getInetAddresses())) {
          if (a instanceof java.net.Inet4Address) {
            return a;
          }
        }
      }
    }
    throw new AssertionError("this host has no non-loopback IPv4 address for the outbound check");
  }
}
