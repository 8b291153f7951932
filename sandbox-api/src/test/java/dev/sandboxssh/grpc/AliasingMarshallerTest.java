package dev.sandboxssh.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.sandboxssh.api.v1.InputRequest;
import dev.sandboxssh.api.v1.ProcessEvent;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Chunks parsed by the aliasing marshaller are views of the message, not copies. */
class AliasingMarshallerTest {
  @Test
  void anOutputChunkSharesTheReceivedMessagesArray() throws Exception {
    byte[] chunk = new byte[64 * 1024];
    new SplittableRandom(1).nextBytes(chunk);
    MethodDescriptor<?, ProcessEvent> start =
        AliasingMarshaller.forResponses(
            ProcessServiceGrpc.getStartMethod(), ProcessEvent.getDefaultInstance());
    InputStream wire =
        start.streamResponse(
            ProcessEvent.newBuilder().setStdout(ByteString.copyFrom(chunk)).build());

    ByteString parsed = start.parseResponse(wire).getStdout();

    assertThat(parsed.toByteArray()).isEqualTo(chunk);
    List<Object[]> writes = new ArrayList<>();
    UnsafeByteOperations.unsafeWriteTo(parsed, recorder(writes));
    assertThat(writes).hasSize(1);
    byte[] backing = (byte[]) writes.get(0)[0];
    int offset = (int) writes.get(0)[1];
    // The message's own array: a tag and a length precede the chunk in it.
    assertThat(backing.length).isGreaterThan(chunk.length);
    assertThat(offset).isPositive();
  }

  @Test
  void anInputChunkOnTheAgentSideToo() throws Exception {
    MethodDescriptor<InputRequest, ?> input =
        AliasingMarshaller.forRequests(
            ProcessServiceGrpc.getStreamInputMethod(), InputRequest.getDefaultInstance());
    InputRequest sent =
        InputRequest.newBuilder().setPid(7).setData(ByteString.copyFromUtf8("typed")).build();

    InputRequest parsed = input.parseRequest(input.streamRequest(sent));

    assertThat(parsed).isEqualTo(sent);
    List<Object[]> writes = new ArrayList<>();
    UnsafeByteOperations.unsafeWriteTo(parsed.getData(), recorder(writes));
    assertThat(((byte[]) writes.get(0)[0]).length).isGreaterThan(parsed.getData().size());
  }

  @Test
  void garbageIsAnInternalErrorNotACrash() {
    MethodDescriptor<?, ProcessEvent> start =
        AliasingMarshaller.forResponses(
            ProcessServiceGrpc.getStartMethod(), ProcessEvent.getDefaultInstance());
    assertThatThrownBy(() -> start.parseResponse(new ByteArrayInputStream(new byte[] {10, 99, 1})))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("INTERNAL");
  }

  private static ByteOutput recorder(List<Object[]> writes) {
    return new ByteOutput() {
      @Override
      public void write(byte value) {
        writes.add(new Object[] {new byte[] {value}, 0, 1});
      }

      @Override
      public void write(byte[] value, int offset, int length) {
        writes.add(new Object[] {value, offset, length});
      }

      @Override
      public void writeLazy(byte[] value, int offset, int length) {
        writes.add(new Object[] {value, offset, length});
      }

      @Override
      public void write(ByteBuffer value) {
        throw new AssertionError("a heap array was expected");
      }

      @Override
      public void writeLazy(ByteBuffer value) {
        throw new AssertionError("a heap array was expected");
      }
    };
  }
}
