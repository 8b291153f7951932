package dev.sandboxssh.sdk.envd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.api.v1.End;
import dev.sandboxssh.api.v1.FileInfo;
import dev.sandboxssh.api.v1.FileType;
import dev.sandboxssh.envd.process.ProcessEvent.EndEvent;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** How envd's answers read as the agent API's: ends, errors, errnos, stat lines and byte ranges. */
class EnvdTranslationTest {

  @Test
  void goProcessStatesBecomeExitCodesOrSignals() {
    End exited =
        EnvdProcessService.end(
            EndEvent.newBuilder()
                .setExited(true)
                .setExitCode(3)
                .setStatus("exit status 3")
                .setError("exit status 3")
                .build());
    assertThat(exited.getExitCode()).isEqualTo(3);
    assertThat(exited.getSignal()).isEmpty();
    assertThat(exited.getError()).as("envd repeats the status; no reason of its own").isEmpty();

    End killed =
        EnvdProcessService.end(
            EndEvent.newBuilder()
                .setExitCode(-1)
                .setStatus("signal: killed")
                .setError("signal: killed (timeout after 1000 ms)")
                .build());
    assertThat(killed.hasExitCode()).isFalse();
    assertThat(killed.getSignal()).isEqualTo("KILL");
    assertThat(killed.getError()).isEqualTo("timeout after 1000 ms");

    End cored =
        EnvdProcessService.end(
            EndEvent.newBuilder().setStatus("signal: segmentation fault (core dumped)").build());
    assertThat(cored.getSignal()).isEqualTo("SEGV");
    assertThat(cored.getCoreDumped()).isTrue();
    assertThat(
            EnvdProcessService.end(EndEvent.newBuilder().setStatus("signal: hangup").build())
                .getSignal())
        .isEqualTo("HUP");
  }

  @Test
  void connectErrorsKeepTheirCodeAndMessage() {
    StatusRuntimeException e =
        EnvdHttp.error(
            404,
            "{\"code\":\"not_found\",\"message\":\"process 7 not found\"}"
                .getBytes(StandardCharsets.UTF_8));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).isEqualTo("process 7 not found");
    assertThat(EnvdHttp.error(401, new byte[0]).getStatus().getCode())
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(EnvdHttp.error(502, "<html>bad gateway".getBytes()).getStatus().getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(EnvdHttp.connectCode("canceled").getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(EnvdHttp.connectCode("no_such_code").getCode()).isEqualTo(Status.Code.UNKNOWN);

    assertThat(EnvdHttp.endOfStream("{}".getBytes())).isNull();
    StatusRuntimeException end =
        EnvdHttp.endOfStream(
            "{\"error\":{\"code\":\"permission_denied\",\"message\":\"no\"}}".getBytes());
    assertThat(end.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void fileErrorsNameTheirErrno() {
    StatusRuntimeException missing =
        EnvdHttp.filesError(
            404,
            "{\"code\":404,\"message\":\"open /home/user/x: no such file or directory\"}"
                .getBytes(),
            "/home/user/x");
    assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(missing.getTrailers().get(EnvdHttp.ERRNO)).isEqualTo("ENOENT");

    StatusRuntimeException full =
        EnvdShell.failure(
            "/f", new EnvdShell.Result(1, "", "dd: error writing '/f': No space left on device\n"));
    assertThat(full.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    StatusRuntimeException notEmpty =
        EnvdShell.failure(
            "/d", new EnvdShell.Result(1, "", "rmdir: failed to remove '/d': Directory not empty"));
    assertThat(notEmpty.getTrailers().get(EnvdHttp.ERRNO)).isEqualTo("ENOTEMPTY");
    assertThat(
            EnvdShell.failure(
                    "/x", new EnvdShell.Result(1, "", "sh: 1: cannot create /x: File exists"))
                .getStatus()
                .getCode())
        .isEqualTo(Status.Code.ALREADY_EXISTS);
    StatusRuntimeException silent = EnvdShell.failure("/q", new EnvdShell.Result(7, "", ""));
    assertThat(silent.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(silent.getStatus().getDescription()).isEqualTo("/q: failed (exit status 7)");
  }

  @Test
  void statLinesAndTouchTimes() {
    FileInfo info =
        EnvdFilesystemService.parseStat(
            "/l", "81a4 12 1000 1000 1700000000 1700000001 1 user user\n");
    assertThat(info.getType()).isEqualTo(FileType.FILE_TYPE_REGULAR);
    assertThat(info.getMode()).isEqualTo(0100644);
    assertThat(info.getSize()).isEqualTo(12);
    assertThat(info.getUid()).isEqualTo(1000);
    assertThat(info.getMtimeNs()).isEqualTo(1_700_000_001_000_000_000L);
    assertThat(EnvdFilesystemService.parseStat("/d", "41ed 4096 0 0 1 2 3 root root").getType())
        .isEqualTo(FileType.FILE_TYPE_DIRECTORY);
    assertThat(EnvdFilesystemService.touchTime(0)).isEmpty();
    assertThat(EnvdFilesystemService.touchTime(1_700_000_000_000_000_005L))
        .isEqualTo("@1700000000.000000005");
  }

  @Test
  void aDownloadFromAnOffsetSkipsWhatAnEnvdWithoutRangesSends() throws Exception {
    byte[] content = "0123456789".getBytes(StandardCharsets.US_ASCII);
    ExecutorService executor = Executors.newCachedThreadPool();
    // This envd ignores Range and always sends the whole file, as a plain server may.
    try (ServerSocket server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
      executor.execute(
          () -> {
            while (!server.isClosed()) {
              try (Socket s = server.accept()) {
                BufferedReader request =
                    new BufferedReader(
                        new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                for (String line; (line = request.readLine()) != null && !line.isEmpty(); ) {
                  // The request's headers; this server answers every request alike.
                }
                OutputStream out = s.getOutputStream();
                out.write(
                    ("HTTP/1.1 200 OK\r\nContent-Length: "
                            + content.length
                            + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(content);
                out.flush();
              } catch (IOException e) {
                // Closed at the end of the test.
              }
            }
          });
      EnvdHttp http =
          new EnvdHttp(
              URI.create("http://127.0.0.1:" + server.getLocalPort()),
              "t",
              Duration.ofSeconds(5),
              executor);
      try (InputStream in = http.download("/f", 4)) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("456789");
      }
      try (InputStream in = http.download("/f", 0)) {
        assertThat(in.readAllBytes()).isEqualTo(content);
      }
      try (InputStream in = http.download("/f", 99)) {
        assertThat(in.readAllBytes()).isEmpty();
      }
    } finally {
      executor.shutdownNow();
    }
  }
}
