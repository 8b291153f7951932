package dev.sandboxssh.sdk.envd;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.sandboxssh.envd.process.CloseStdinRequest;
import dev.sandboxssh.envd.process.CloseStdinResponse;
import dev.sandboxssh.envd.process.ListRequest;
import dev.sandboxssh.envd.process.ListResponse;
import dev.sandboxssh.envd.process.ProcessInput;
import dev.sandboxssh.envd.process.ProcessSelector;
import dev.sandboxssh.envd.process.SendInputRequest;
import dev.sandboxssh.envd.process.SendInputResponse;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One envd, reached over HTTP: the Connect protocol (connectrpc.com/docs/protocol) in its binary
 * codec for {@code process.Process} and {@code filesystem.Filesystem}, and envd's plain {@code
 * /files} and {@code /health} endpoints. Every request carries the access token in {@code
 * X-Access-Token}; errors come back as gRPC statuses, so the services above can pass them on as the
 * agent would.
 */
final class EnvdHttp {
  /** A message larger than this is refused: envd sends none near it. */
  static final int MAX_MESSAGE = 16 * 1024 * 1024;

  private static final int FLAG_COMPRESSED = 1;
  private static final int FLAG_END_STREAM = 2;

  /** E2B's public sandbox hosts: {@code PORT-SANDBOXID.DOMAIN}. */
  private static final Pattern E2B_HOST = Pattern.compile("^(\\d+)-([a-z0-9]+)\\.");

  static final Metadata.Key<String> ERRNO =
      Metadata.Key.of("fs-errno", Metadata.ASCII_STRING_MARSHALLER);

  private final URI base;
  private final String token;
  private final HttpClient client;
  private final Duration connectTimeout;

  /** E2B's edge proxy routes by these when the host does not say; null for other envds. */
  private final String sandboxId;

  private final String sandboxPort;

  EnvdHttp(URI base, String token, Duration connectTimeout, Executor executor) {
    String text = base.toString();
    this.base = URI.create(text.endsWith("/") ? text : text + "/");
    this.token = token;
    this.connectTimeout = connectTimeout;
    Matcher m = E2B_HOST.matcher(base.getHost() == null ? "" : base.getHost());
    this.sandboxPort = m.find() ? m.group(1) : null;
    this.sandboxId = sandboxPort != null ? m.group(2) : null;
    this.client =
        HttpClient.newBuilder()
            // envd speaks HTTP/1.1 in the clear and HTTP/2 behind E2B's TLS proxy.
            .version(
                "https".equals(base.getScheme())
                    ? HttpClient.Version.HTTP_2
                    : HttpClient.Version.HTTP_1_1)
            .connectTimeout(connectTimeout)
            .executor(executor)
            .build();
  }

  /** The envd's base URL. */
  URI base() {
    return base;
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(base.resolve(path)).header("X-Access-Token", token);
    if (sandboxId != null) {
      b.header("E2b-Sandbox-Id", sandboxId).header("E2b-Sandbox-Port", sandboxPort);
    }
    return b;
  }

  /** A unary call: {@code METHOD} as {@code service/Method}, answered within {@code timeout}. */
  <R extends Message> R unary(String method, Message request, Parser<R> parser, Duration timeout) {
    HttpRequest http =
        request(method)
            .timeout(timeout)
            .header("Content-Type", "application/proto")
            .header("Connect-Protocol-Version", "1")
            .header("Connect-Timeout-Ms", Long.toString(timeout.toMillis()))
            .POST(HttpRequest.BodyPublishers.ofByteArray(request.toByteArray()))
            .build();
    HttpResponse<byte[]> response = send(http, HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw error(response.statusCode(), response.body());
    }
    try {
      return parser.parseFrom(response.body());
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL
          .withDescription("envd sent a malformed " + method + " reply: " + e.getMessage())
          .asRuntimeException();
    }
  }

  /**
   * Opens a server-streaming call; {@code timeoutMs} (0 = none) goes to envd as the call's
   * Connect-Timeout-Ms, which for a process start is how long the process may run.
   */
  <R extends Message> Stream<R> serverStream(
      String method, Message request, Parser<R> parser, long timeoutMs) {
    byte[] body = request.toByteArray();
    byte[] envelope = new byte[5 + body.length];
    envelope[1] = (byte) (body.length >>> 24);
    envelope[2] = (byte) (body.length >>> 16);
    envelope[3] = (byte) (body.length >>> 8);
    envelope[4] = (byte) body.length;
    System.arraycopy(body, 0, envelope, 5, body.length);
    HttpRequest.Builder http =
        request(method)
            .header("Content-Type", "application/connect+proto")
            .header("Connect-Protocol-Version", "1")
            .POST(HttpRequest.BodyPublishers.ofByteArray(envelope));
    if (timeoutMs > 0) {
      http.header("Connect-Timeout-Ms", Long.toString(timeoutMs));
    }
    HttpResponse<InputStream> response =
        send(http.build(), HttpResponse.BodyHandlers.ofInputStream());
    if (response.statusCode() != 200) {
      throw error(response.statusCode(), readError(response.body()));
    }
    return new Stream<>(response.body(), parser, method);
  }

  /** The messages of one server stream, in order; closing it before the end cancels the call. */
  static final class Stream<R extends Message> implements AutoCloseable {
    private final DataInputStream in;
    private final Parser<R> parser;
    private final String method;

    private Stream(InputStream in, Parser<R> parser, String method) {
      this.in = new DataInputStream(in);
      this.parser = parser;
      this.method = method;
    }

    /**
     * The next message; null once the stream ended well.
     *
     * @throws StatusRuntimeException with envd's error, or UNAVAILABLE when the connection broke
     */
    R next() {
      try {
        int flags;
        try {
          flags = in.readUnsignedByte();
        } catch (EOFException e) {
          throw Status.UNAVAILABLE
              .withDescription("envd ended " + method + " without its end message")
              .asRuntimeException();
        }
        int length = in.readInt();
        if (length < 0 || length > MAX_MESSAGE) {
          throw Status.INTERNAL
              .withDescription("envd sent a " + length + "-byte message on " + method)
              .asRuntimeException();
        }
        byte[] message = in.readNBytes(length);
        if (message.length < length) {
          throw Status.UNAVAILABLE
              .withDescription("envd ended " + method + " mid-message")
              .asRuntimeException();
        }
        if ((flags & FLAG_COMPRESSED) != 0) {
          throw Status.INTERNAL
              .withDescription("envd compressed a message of " + method + " unasked")
              .asRuntimeException();
        }
        if ((flags & FLAG_END_STREAM) != 0) {
          StatusRuntimeException failure = endOfStream(message);
          if (failure != null) {
            throw failure;
          }
          return null;
        }
        return parser.parseFrom(message);
      } catch (InvalidProtocolBufferException e) {
        throw Status.INTERNAL
            .withDescription("envd sent a malformed message on " + method + ": " + e.getMessage())
            .asRuntimeException();
      } catch (IOException e) {
        throw Status.UNAVAILABLE
            .withDescription("envd connection lost on " + method + ": " + e.getMessage())
            .withCause(e)
            .asRuntimeException();
      }
    }

    @Override
    public void close() {
      try {
        in.close();
      } catch (IOException ignored) {
        // Closing is how the call is cancelled; a failure to do so cleanly changes nothing.
      }
    }
  }

  /** envd's running processes ({@code process.Process/List}). */
  ListResponse list(Duration timeout) {
    return unary(
        "process.Process/List", ListRequest.getDefaultInstance(), ListResponse.parser(), timeout);
  }

  /** Writes {@code input} (stdin or PTY bytes) to {@code process}. */
  void sendInput(ProcessSelector process, ProcessInput input, Duration timeout) {
    unary(
        "process.Process/SendInput",
        SendInputRequest.newBuilder().setProcess(process).setInput(input).build(),
        SendInputResponse.parser(),
        timeout);
  }

  /** Closes the stdin of {@code process}. */
  void closeStdin(ProcessSelector process, Duration timeout) {
    unary(
        "process.Process/CloseStdin",
        CloseStdinRequest.newBuilder().setProcess(process).build(),
        CloseStdinResponse.parser(),
        timeout);
  }

  /**
   * {@code GET /files}: the bytes of {@code path} from {@code offset} on. Asks for a byte range, as
   * envd serves them; an envd that sends the whole file instead has the first bytes skipped here.
   * An offset at or past the end reads nothing.
   */
  InputStream download(String path, long offset) {
    HttpRequest.Builder http = request("files?path=" + query(path)).GET();
    if (offset > 0) {
      http.header("Range", "bytes=" + offset + "-");
    }
    HttpResponse<InputStream> response =
        send(http.build(), HttpResponse.BodyHandlers.ofInputStream());
    int status = response.statusCode();
    if (status == 416) {
      close(response.body());
      return InputStream.nullInputStream();
    }
    if (status != 200 && status != 206) {
      throw filesError(status, readError(response.body()), path);
    }
    InputStream in = response.body();
    if (status == 200 && offset > 0) {
      try {
        in.skipNBytes(offset);
      } catch (EOFException e) {
        close(in);
        return InputStream.nullInputStream();
      } catch (IOException e) {
        close(in);
        throw Status.UNAVAILABLE.withDescription(e.getMessage()).withCause(e).asRuntimeException();
      }
    }
    return in;
  }

  /** {@code POST /files} as {@code application/octet-stream}: {@code path} becomes {@code data}. */
  void upload(String path, Supplier<InputStream> data) {
    HttpRequest http =
        request("files?path=" + query(path))
            .header("Content-Type", "application/octet-stream")
            .POST(HttpRequest.BodyPublishers.ofInputStream(data))
            .build();
    HttpResponse<byte[]> response = send(http, HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() / 100 != 2) {
      throw filesError(response.statusCode(), response.body(), path);
    }
  }

  /** {@code GET /health}, which envd answers without a token. */
  void health(Duration timeout) {
    HttpRequest http = request("health").timeout(timeout).GET().build();
    HttpResponse<byte[]> response = send(http, HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() / 100 != 2) {
      throw Status.UNAVAILABLE
          .withDescription("envd health answered HTTP " + response.statusCode())
          .asRuntimeException();
    }
  }

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return client.send(request, handler);
    } catch (HttpConnectTimeoutException e) {
      throw Status.DEADLINE_EXCEEDED
          .withDescription(
              "envd at " + base + " did not accept a connection within " + connectTimeout)
          .asRuntimeException();
    } catch (HttpTimeoutException e) {
      throw Status.DEADLINE_EXCEEDED
          .withDescription("envd at " + base + " did not answer in time")
          .asRuntimeException();
    } catch (ConnectException e) {
      throw Status.UNAVAILABLE
          .withDescription("cannot reach envd at " + base + ": connection refused")
          .asRuntimeException();
    } catch (IOException e) {
      throw Status.UNAVAILABLE
          .withDescription("cannot reach envd at " + base + ": " + e)
          .withCause(e)
          .asRuntimeException();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    }
  }

  private static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  private static byte[] readError(InputStream body) {
    try (InputStream in = body) {
      return in.readNBytes(64 * 1024);
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static void close(InputStream in) {
    try {
      in.close();
    } catch (IOException ignored) {
      // The response is abandoned either way.
    }
  }

  /** A Connect error: {@code {"code":"not_found","message":"..."}} with an HTTP status. */
  static StatusRuntimeException error(int httpStatus, byte[] body) {
    Struct json = json(body);
    String code = text(json, "code");
    String message = text(json, "message");
    Status status = code != null ? connectCode(code) : httpCode(httpStatus);
    return status
        .withDescription(message != null ? message : "envd answered HTTP " + httpStatus)
        .asRuntimeException();
  }

  /** The error of an end-of-stream message, or null when it reports none. */
  static StatusRuntimeException endOfStream(byte[] body) {
    Struct json = json(body);
    Value error = json.getFieldsMap().get("error");
    if (error == null || !error.hasStructValue()) {
      return null;
    }
    Struct e = error.getStructValue();
    String code = text(e, "code");
    String message = text(e, "message");
    return connectCode(code == null ? "unknown" : code)
        .withDescription(message)
        .asRuntimeException();
  }

  /** An error of {@code /files}: envd's REST body {@code {"code":N,"message":"..."}}. */
  static StatusRuntimeException filesError(int httpStatus, byte[] body, String path) {
    String message = text(json(body), "message");
    String text = message != null ? message : path + ": envd answered HTTP " + httpStatus;
    Status status = httpCode(httpStatus).withDescription(text);
    Metadata trailers = new Metadata();
    String errno = Errno.fromMessage(text);
    if (errno != null) {
      trailers.put(ERRNO, errno);
      status = Errno.status(errno).withDescription(text);
    }
    return status.asRuntimeException(trailers);
  }

  private static Struct json(byte[] body) {
    Struct.Builder out = Struct.newBuilder();
    if (body == null || body.length == 0) {
      return out.build();
    }
    try {
      JsonFormat.parser()
          .ignoringUnknownFields()
          .merge(new String(body, StandardCharsets.UTF_8), out);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      // Not JSON (a proxy's HTML page, say): the HTTP status alone describes it.
    }
    return out.build();
  }

  private static String text(Struct json, String field) {
    Value v = json.getFieldsMap().get(field);
    return v != null && v.hasStringValue() ? v.getStringValue() : null;
  }

  /** Connect's code names are gRPC's in snake case, with {@code canceled} spelt the US way. */
  static Status connectCode(String code) {
    if (code.equals("canceled")) {
      return Status.CANCELLED;
    }
    try {
      return Status.fromCode(Status.Code.valueOf(code.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      return Status.UNKNOWN;
    }
  }

  /** Connect's mapping of HTTP statuses without a code, and envd's REST statuses. */
  static Status httpCode(int httpStatus) {
    switch (httpStatus) {
      case 400:
        return Status.INVALID_ARGUMENT;
      case 401:
        return Status.UNAUTHENTICATED;
      case 403:
        return Status.PERMISSION_DENIED;
      case 404:
        return Status.NOT_FOUND;
      case 409:
        return Status.ALREADY_EXISTS;
      case 412:
        return Status.FAILED_PRECONDITION;
      case 429:
      case 502:
      case 503:
      case 504:
        return Status.UNAVAILABLE;
      case 507:
        return Status.RESOURCE_EXHAUSTED;
      default:
        return Status.UNKNOWN;
    }
  }
}
