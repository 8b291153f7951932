package dev.sandboxssh.agent;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Rejects every call, streaming ones included, that does not carry {@code authorization: Bearer
 * <token>}.
 *
 * <p>Threat: anything that can reach the agent's socket (another sandbox, a process on the host)
 * would otherwise own the sandbox. The comparison runs in constant time so that the token cannot be
 * guessed byte by byte from response times, and the token is never logged.
 */
public final class TokenAuthInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String PREFIX = "Bearer ";

  private final byte[] expected;

  /** Accepts calls that present exactly this token. */
  public TokenAuthInterceptor(String token) {
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException("token must not be empty");
    }
    this.expected = token.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String header = headers.get(AUTHORIZATION);
    byte[] presented =
        header != null && header.startsWith(PREFIX)
            ? header.substring(PREFIX.length()).getBytes(StandardCharsets.UTF_8)
            : new byte[0];
    if (!MessageDigest.isEqual(expected, presented)) {
      call.close(
          Status.UNAUTHENTICATED.withDescription("missing or wrong bearer token"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
