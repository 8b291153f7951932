package dev.sandboxssh.agent.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sandboxssh.agent.fs.RootedAgentFixture;
import dev.sandboxssh.api.v1.FilesystemServiceGrpc;
import dev.sandboxssh.api.v1.NetworkServiceGrpc;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rpc of every agent service, streaming ones included, refuses a caller without the token or
 * with a wrong one. The rpcs are enumerated from the generated service descriptors, so that a new
 * rpc is covered without anyone remembering to add it here.
 */
class TokenRequiredTest {
  private static final long TIMEOUT_SECONDS = 10;

  @TempDir static Path tmp;
  private static RootedAgentFixture agent;
  private static ManagedChannel raw;

  @BeforeAll
  static void start() throws Exception {
    agent = RootedAgentFixture.rooted(tmp);
    raw =
        Grpc.newChannelBuilder("unix://" + agent.socket(), InsecureChannelCredentials.create())
            .build();
  }

  @AfterAll
  static void stop() {
    raw.shutdownNow();
    agent.close();
  }

  static Stream<ServiceDescriptor> services() {
    return Stream.of(
        ProcessServiceGrpc.getServiceDescriptor(),
        FilesystemServiceGrpc.getServiceDescriptor(),
        NetworkServiceGrpc.getServiceDescriptor());
  }

  static Stream<Arguments> everyRpcWithEveryBadCredential() {
    String wrongToken = "Bearer " + agent.token() + "x";
    return services()
        .flatMap(service -> service.getMethods().stream())
        .flatMap(
            method ->
                Stream.of(
                    Arguments.of(method.getFullMethodName(), "no token", method, null),
                    Arguments.of(method.getFullMethodName(), "wrong token", method, wrongToken),
                    Arguments.of(method.getFullMethodName(), "not bearer", method, agent.token())));
  }

  @Test
  void theDescriptorsListTheRpcsOfAllThreeServices() {
    assertThat(services().mapToInt(s -> s.getMethods().size()).sum()).isGreaterThanOrEqualTo(25);
  }

  @ParameterizedTest(name = "{0} with {1}")
  @MethodSource("everyRpcWithEveryBadCredential")
  void isUnauthenticated(String name, String what, MethodDescriptor<?, ?> method, String header)
      throws Exception {
    assertThat(call(method, header).get(TIMEOUT_SECONDS, TimeUnit.SECONDS).getCode())
        .isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void healthAnswersWithoutAToken() {
    assertThat(
            HealthGrpc.newBlockingStub(raw)
                .withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance())
                .getStatus())
        .isEqualTo(ServingStatus.SERVING);
  }

  /** Calls a method with an empty request and the given authorization header (or none). */
  @SuppressWarnings("unchecked")
  private static CompletableFuture<Status> call(MethodDescriptor<?, ?> descriptor, String header) {
    MethodDescriptor<Object, Object> method = (MethodDescriptor<Object, Object>) descriptor;
    Object emptyRequest =
        ((MethodDescriptor.PrototypeMarshaller<Object>) method.getRequestMarshaller())
            .getMessagePrototype();
    Metadata headers = new Metadata();
    if (header != null) {
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), header);
    }
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<Object, Object> call =
        raw.newCall(
            method, CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT_SECONDS, TimeUnit.SECONDS));
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        headers);
    call.request(1);
    call.sendMessage(emptyRequest);
    call.halfClose();
    return closed;
  }
}
