package dev.sandboxssh.sdk;

import dev.sandboxssh.api.v1.ConnectRequest;
import dev.sandboxssh.api.v1.FilesystemServiceGrpc;
import dev.sandboxssh.api.v1.NetworkServiceGrpc;
import dev.sandboxssh.api.v1.ProcessEvent;
import dev.sandboxssh.api.v1.ProcessServiceGrpc;
import dev.sandboxssh.api.v1.StartRequest;
import dev.sandboxssh.api.v1.TunnelFrame;
import dev.sandboxssh.grpc.AliasingMarshaller;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The generated stubs of one agent, all carrying its token. Package-private on purpose. */
final class AgentStubs {
  /**
   * Bytes a stream may have queued for the agent before it counts as not ready. gRPC's default (32
   * KiB) is below one 64 KiB chunk, so every chunk would wait for the previous one to reach the
   * socket; a few chunks keep the pipe full and still bound what one stream buffers.
   */
  static final int STREAM_READY_THRESHOLD = 256 * 1024;

  // Output chunks parsed as views of the received message, not copied out of it.
  private static final MethodDescriptor<StartRequest, ProcessEvent> START =
      AliasingMarshaller.forResponses(
          ProcessServiceGrpc.getStartMethod(), ProcessEvent.getDefaultInstance());
  private static final MethodDescriptor<ConnectRequest, ProcessEvent> CONNECT =
      AliasingMarshaller.forResponses(
          ProcessServiceGrpc.getConnectMethod(), ProcessEvent.getDefaultInstance());

  private static final MethodDescriptor<TunnelFrame, TunnelFrame> DIAL =
      AliasingMarshaller.forResponses(
          NetworkServiceGrpc.getDialMethod(), TunnelFrame.getDefaultInstance());
  private static final MethodDescriptor<TunnelFrame, TunnelFrame> ACCEPT =
      AliasingMarshaller.forResponses(
          NetworkServiceGrpc.getAcceptMethod(), TunnelFrame.getDefaultInstance());

  final ManagedChannel channel;
  final CallCredentials credentials;

  AgentStubs(ManagedChannel channel, CallCredentials credentials) {
    this.channel = channel;
    this.credentials = credentials;
  }

  ProcessServiceGrpc.ProcessServiceStub processAsync() {
    return ProcessServiceGrpc.newStub(channel)
        .withCallCredentials(credentials)
        .withOnReadyThreshold(STREAM_READY_THRESHOLD);
  }

  /** ProcessService.Start (server-streaming), its output chunks parsed without a copy. */
  void start(StartRequest request, StreamObserver<ProcessEvent> events) {
    ProcessServiceGrpc.ProcessServiceStub stub = processAsync();
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(START, stub.getCallOptions()), request, events);
  }

  /** ProcessService.Connect (server-streaming), its output chunks parsed without a copy. */
  void connect(ConnectRequest request, StreamObserver<ProcessEvent> events) {
    ProcessServiceGrpc.ProcessServiceStub stub = processAsync();
    ClientCalls.asyncServerStreamingCall(
        channel.newCall(CONNECT, stub.getCallOptions()), request, events);
  }

  /** NetworkService.Dial (bidi-streaming), the tunnel's data parsed without a copy. */
  StreamObserver<TunnelFrame> dial(StreamObserver<TunnelFrame> fromAgent) {
    NetworkServiceGrpc.NetworkServiceStub stub = networkAsync();
    return ClientCalls.asyncBidiStreamingCall(
        channel.newCall(DIAL, stub.getCallOptions()), fromAgent);
  }

  /** NetworkService.Accept (bidi-streaming), the tunnel's data parsed without a copy. */
  StreamObserver<TunnelFrame> accept(StreamObserver<TunnelFrame> fromAgent) {
    NetworkServiceGrpc.NetworkServiceStub stub = networkAsync();
    return ClientCalls.asyncBidiStreamingCall(
        channel.newCall(ACCEPT, stub.getCallOptions()), fromAgent);
  }

  ProcessServiceGrpc.ProcessServiceBlockingStub processBlocking() {
    return ProcessServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials);
  }

  FilesystemServiceGrpc.FilesystemServiceStub filesAsync() {
    return FilesystemServiceGrpc.newStub(channel)
        .withCallCredentials(credentials)
        .withOnReadyThreshold(STREAM_READY_THRESHOLD);
  }

  FilesystemServiceGrpc.FilesystemServiceBlockingStub filesBlocking() {
    return FilesystemServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials);
  }

  NetworkServiceGrpc.NetworkServiceStub networkAsync() {
    return NetworkServiceGrpc.newStub(channel)
        .withCallCredentials(credentials)
        .withOnReadyThreshold(STREAM_READY_THRESHOLD);
  }

  void health(Duration timeout, boolean waitForReady) {
    HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
    if (waitForReady) {
      stub = stub.withWaitForReady();
    }
    try {
      stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .check(HealthCheckRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw SandboxException.from(e);
    }
  }
}
