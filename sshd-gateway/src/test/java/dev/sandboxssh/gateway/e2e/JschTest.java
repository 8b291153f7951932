package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.Session;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JSch (the maintained fork that Jenkins and Eclipse use): a Java client that is not OpenSSH. */
@Tag("e2e")
class JschTest {
  @TempDir static Path dir;
  static GatewayFixture gateway;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayFixture.start(dir);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void execReturnsOutputAndTheCommandsStatus() throws Exception {
    Session session = connect();
    try {
      ChannelExec exec = (ChannelExec) session.openChannel("exec");
      exec.setCommand("echo via-jsch; echo oops >&2; exit 3");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      exec.setOutputStream(out);
      exec.setErrStream(err);
      exec.connect((int) Timeouts.COMMAND.toMillis());
      long deadline = System.nanoTime() + Timeouts.COMMAND.toNanos();
      while (!exec.isClosed() && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(20);
      }
      assertThat(exec.isClosed()).isTrue();
      assertThat(out.toString()).isEqualTo("via-jsch\n");
      assertThat(err.toString()).isEqualTo("oops\n");
      assertThat(exec.getExitStatus()).isEqualTo(3);
    } finally {
      session.disconnect();
    }
  }

  @Test
  void sftpUploadAndDownloadKeepEveryByte() throws Exception {
    Path original = FileClients.randomFile(dir.resolve("jsch-up.bin"), 2 * 1024 * 1024 + 5, 21);
    Session session = connect();
    try {
      ChannelSftp sftp = (ChannelSftp) session.openChannel("sftp");
      sftp.connect((int) Timeouts.COMMAND.toMillis());
      sftp.put(original.toString(), "jsch-up.bin");
      Path back = dir.resolve("jsch-down.bin");
      sftp.get("jsch-up.bin", back.toString());
      sftp.disconnect();
      assertThat(FileClients.sha256(back)).isEqualTo(FileClients.sha256(original));
      assertThat(
              FileClients.sha256(gateway.sandboxDir(GatewayFixture.SANDBOX).resolve("jsch-up.bin")))
          .isEqualTo(FileClients.sha256(original));
    } finally {
      session.disconnect();
    }
  }

  private static Session connect() throws Exception {
    JSch jsch = new JSch();
    jsch.addIdentity(gateway.aliceKey().toString());
    Session session = jsch.getSession(GatewayFixture.SANDBOX, "127.0.0.1", gateway.port());
    // The host key is not what this test is about (OpenSSH's tests pin it).
    session.setConfig("StrictHostKeyChecking", "no");
    session.connect((int) Duration.ofSeconds(30).toMillis());
    return session;
  }
}
