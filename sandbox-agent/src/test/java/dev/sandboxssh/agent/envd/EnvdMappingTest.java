package dev.sandboxssh.agent.envd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sandboxssh.api.v1.End;
import dev.sandboxssh.envd.process.ProcessEvent;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The envd face's translations that the SDK test cannot single out. */
class EnvdMappingTest {

  @Test
  void endEventsReadAsGoProcessStates() {
    ProcessEvent.EndEvent ok = ProcessFace.end(End.newBuilder().setExitCode(0).build());
    assertThat(ok.getExited()).isTrue();
    assertThat(ok.getStatus()).isEqualTo("exit status 0");
    assertThat(ok.hasError()).isFalse();

    ProcessEvent.EndEvent failed = ProcessFace.end(End.newBuilder().setExitCode(3).build());
    assertThat(failed.getExitCode()).isEqualTo(3);
    assertThat(failed.getError()).isEqualTo("exit status 3");

    ProcessEvent.EndEvent killed = ProcessFace.end(End.newBuilder().setSignal("KILL").build());
    assertThat(killed.getExitCode()).isEqualTo(-1);
    assertThat(killed.getExited()).isFalse();
    assertThat(killed.getStatus()).isEqualTo("signal: killed");

    ProcessEvent.EndEvent timedOut =
        ProcessFace.end(
            End.newBuilder().setSignal("KILL").setError("timeout after 1000 ms").build());
    assertThat(timedOut.getError()).isEqualTo("signal: killed (timeout after 1000 ms)");
  }

  @Test
  void byteRangesAreServedAsHttpServeContentServesThem() {
    assertThat(FilesystemFace.range("bytes=10-", 100)).containsExactly(10, 99);
    assertThat(FilesystemFace.range("bytes=10-19", 100)).containsExactly(10, 19);
    assertThat(FilesystemFace.range("bytes=90-200", 100)).containsExactly(90, 99);
    assertThat(FilesystemFace.range("bytes=100-", 100)).containsExactly(100, 99);
    // Forms served as the whole file.
    assertThat(FilesystemFace.range(null, 100)).isNull();
    assertThat(FilesystemFace.range("bytes=-10", 100)).isNull();
    assertThat(FilesystemFace.range("bytes=0-1,5-6", 100)).isNull();
    assertThat(FilesystemFace.range("bytes=5-1", 100)).isNull();
    assertThat(FilesystemFace.range("items=1-2", 100)).isNull();
    assertThat(FilesystemFace.range("bytes=x-", 100)).isNull();
  }

  @Test
  void connectErrorsUseConnectNamesAndStatuses() {
    assertThat(Connect.errorJson(Status.NOT_FOUND.withDescription("no \"x\"\n")))
        .isEqualTo("{\"code\":\"not_found\",\"message\":\"no \\\"x\\\"\\u000a\"}");
    assertThat(Connect.code(Status.Code.CANCELLED)).isEqualTo("canceled");
    assertThat(Connect.httpStatus(Status.Code.UNAUTHENTICATED)).isEqualTo(401);
    assertThat(Connect.httpStatus(Status.Code.FAILED_PRECONDITION)).isEqualTo(412);
    assertThat(Connect.httpStatus(Status.Code.INTERNAL)).isEqualTo(500);
  }

  @Test
  void multipartPartsKeepTheirNamesAndBytes() {
    String body =
        "preamble\r\n--XyZ\r\n"
            + "Content-Disposition: form-data; name=\"file\"; filename=\"dir/a.txt\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n"
            + "line1\r\nline2\r\n--XyZ\r\n"
            + "Content-Disposition: form-data; name=\"file\"; filename=\"b.bin\"\r\n\r\n"
            + "\r\n--XyZ--\r\n";
    List<Multipart.Part> parts = Multipart.parse(body.getBytes(StandardCharsets.ISO_8859_1), "XyZ");
    assertThat(parts).hasSize(2);
    assertThat(parts.get(0).name()).isEqualTo("file");
    assertThat(parts.get(0).filename()).isEqualTo("dir/a.txt");
    assertThat(new String(parts.get(0).data(), StandardCharsets.ISO_8859_1))
        .isEqualTo("line1\r\nline2");
    assertThat(parts.get(1).filename()).isEqualTo("b.bin");
    assertThat(parts.get(1).data()).isEmpty();
  }

  @Test
  void multipartWithoutItsClosingBoundaryIsRefused() {
    byte[] body =
        "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ncut off"
            .getBytes(StandardCharsets.ISO_8859_1);
    assertThatThrownBy(() -> Multipart.parse(body, "b"))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("closing boundary");
  }
}
