package dev.sandboxssh.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A protobuf marshaller whose parsed {@code bytes} fields share the message's one array.
 *
 * <p>gRPC's own marshaller reads a message into a reused buffer and then copies every {@code bytes}
 * field out of it; for output and input chunks that is a second copy of every byte. This one reads
 * the message once into an array of its own and parses with aliasing, so a chunk's {@code
 * ByteString} is a view of that array. The array is never reused, which is what makes that safe.
 */
public final class AliasingMarshaller<T extends MessageLite>
    implements MethodDescriptor.Marshaller<T> {
  private final MethodDescriptor.Marshaller<T> writer;
  private final Parser<T> parser;

  private AliasingMarshaller(MethodDescriptor.Marshaller<T> writer, T defaultInstance) {
    this.writer = writer;
    @SuppressWarnings("unchecked")
    Parser<T> parser = (Parser<T>) defaultInstance.getParserForType();
    this.parser = parser;
  }

  /** {@code method} with responses parsed by an aliasing marshaller. */
  public static <Q, R extends MessageLite> MethodDescriptor<Q, R> forResponses(
      MethodDescriptor<Q, R> method, R defaultResponse) {
    return method.toBuilder(
            method.getRequestMarshaller(),
            new AliasingMarshaller<>(method.getResponseMarshaller(), defaultResponse))
        .build();
  }

  /** {@code method} with requests parsed by an aliasing marshaller. */
  public static <Q extends MessageLite, R> MethodDescriptor<Q, R> forRequests(
      MethodDescriptor<Q, R> method, Q defaultRequest) {
    return method.toBuilder(
            new AliasingMarshaller<>(method.getRequestMarshaller(), defaultRequest),
            method.getResponseMarshaller())
        .build();
  }

  /** {@code service} with {@code method}'s requests parsed by an aliasing marshaller. */
  public static <Q extends MessageLite, R> ServerServiceDefinition forRequests(
      ServerServiceDefinition service, MethodDescriptor<Q, R> method, Q defaultRequest) {
    MethodDescriptor<Q, R> aliased = forRequests(method, defaultRequest);
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    boolean found = false;
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      if (m.getMethodDescriptor().getFullMethodName().equals(method.getFullMethodName())) {
        @SuppressWarnings("unchecked")
        ServerMethodDefinition<Q, R> typed = (ServerMethodDefinition<Q, R>) m;
        methods.add(ServerMethodDefinition.create(aliased, typed.getServerCallHandler()));
        found = true;
      } else {
        methods.add(m);
      }
    }
    if (!found) {
      throw new IllegalArgumentException(
          service.getServiceDescriptor().getName() + " has no " + method.getFullMethodName());
    }
    ServiceDescriptor old = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(old.getName()).setSchemaDescriptor(old.getSchemaDescriptor());
    methods.forEach(m -> descriptor.addMethod(m.getMethodDescriptor()));
    ServerServiceDefinition.Builder result = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(m -> addTo(result, m));
    return result.build();
  }

  private static <Q, R> void addTo(
      ServerServiceDefinition.Builder builder, ServerMethodDefinition<Q, R> method) {
    builder.addMethod(method);
  }

  @Override
  public InputStream stream(T value) {
    return writer.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    try {
      byte[] bytes;
      if (stream instanceof KnownLength) {
        bytes = new byte[stream.available()];
        int read = stream.readNBytes(bytes, 0, bytes.length);
        if (read != bytes.length || stream.read() != -1) {
          throw new IOException("message length changed while reading it");
        }
      } else {
        bytes = stream.readAllBytes();
      }
      CodedInputStream input = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
      input.enableAliasing(true);
      input.setSizeLimit(Integer.MAX_VALUE); // gRPC's maxInboundMessageSize already bounds it
      T message = parser.parseFrom(input);
      input.checkLastTagWas(0);
      return message;
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL
          .withDescription("invalid protobuf message")
          .withCause(e)
          .asRuntimeException();
    } catch (IOException e) {
      throw Status.INTERNAL
          .withDescription("cannot read message")
          .withCause(e)
          .asRuntimeException();
    }
  }
}
