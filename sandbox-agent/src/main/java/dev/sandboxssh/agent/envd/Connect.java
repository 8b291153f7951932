package dev.sandboxssh.agent.envd;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * The Connect protocol (connectrpc.com/docs/protocol) on one HTTP/1.1 exchange: unary calls as
 * {@code application/json} or {@code application/proto}, server-streaming calls as {@code
 * application/connect+json} or {@code application/connect+proto} in envelopes (a flag byte, a
 * 4-byte big-endian length, the message), ended by an end-of-stream envelope (flag 2) that holds
 * {@code {}} or the error.
 */
final class Connect {
  /** A request message bigger than this is refused: no envd request needs more. */
  static final int MAX_MESSAGE = 4 * 1024 * 1024;

  private static final int FLAG_COMPRESSED = 1;
  private static final int FLAG_END_STREAM = 2;

  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().omittingInsignificantWhitespace();

  private final HttpExchange exchange;
  private final boolean streaming;
  private final boolean json;
  private boolean headersSent;

  private Connect(HttpExchange exchange, boolean streaming, boolean json) {
    this.exchange = exchange;
    this.streaming = streaming;
    this.json = json;
  }

  /**
   * The codec the request's content type names; null (after answering 415) when it names none
   * Connect knows.
   */
  static Connect of(HttpExchange exchange, boolean streaming) throws IOException {
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    String base = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    String prefix = streaming ? "application/connect+" : "application/";
    if (base.equals(prefix + "json")) {
      return new Connect(exchange, streaming, true);
    }
    if (base.equals(prefix + "proto")) {
      return new Connect(exchange, streaming, false);
    }
    exchange.getResponseHeaders().set("Accept-Post", prefix + "json, " + prefix + "proto");
    exchange.sendResponseHeaders(415, -1);
    exchange.close();
    return null;
  }

  /** Reads the one request message into {@code builder}. */
  <M extends Message.Builder> M read(M builder) throws IOException {
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      if (streaming) {
        DataInputStream data = new DataInputStream(in);
        int flags = data.readUnsignedByte();
        int length = data.readInt();
        if (length < 0 || length > MAX_MESSAGE) {
          throw invalid("request message of " + length + " bytes");
        }
        body = data.readNBytes(length);
        if ((flags & FLAG_COMPRESSED) != 0) {
          body = decode(exchange.getRequestHeaders().getFirst("Connect-Content-Encoding"), body);
        }
      } else {
        body = in.readNBytes(MAX_MESSAGE + 1);
        if (body.length > MAX_MESSAGE) {
          throw invalid("request message over " + MAX_MESSAGE + " bytes");
        }
        body = decode(exchange.getRequestHeaders().getFirst("Content-Encoding"), body);
      }
    }
    try {
      if (json) {
        PARSER.merge(body.length == 0 ? "{}" : new String(body, StandardCharsets.UTF_8), builder);
      } else {
        builder.mergeFrom(body);
      }
    } catch (InvalidProtocolBufferException e) {
      throw invalid("malformed request: " + e.getMessage());
    }
    return builder;
  }

  private static byte[] decode(String encoding, byte[] body) throws IOException {
    if (encoding == null || encoding.isEmpty() || encoding.equalsIgnoreCase("identity")) {
      return body;
    }
    if (encoding.equalsIgnoreCase("gzip")) {
      try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(body))) {
        byte[] plain = in.readNBytes(MAX_MESSAGE + 1);
        if (plain.length > MAX_MESSAGE) {
          throw invalid("request message over " + MAX_MESSAGE + " bytes");
        }
        return plain;
      }
    }
    throw Status.UNIMPLEMENTED
        .withDescription("unsupported compression " + encoding + "; supported: gzip, identity")
        .asRuntimeException();
  }

  /** Answers a unary call with {@code reply}. */
  void reply(Message reply) throws IOException {
    byte[] body = encode(reply);
    exchange
        .getResponseHeaders()
        .set("Content-Type", json ? "application/json" : "application/proto");
    exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** Sends one message of a server stream, flushed at once so that output arrives live. */
  void send(Message message) throws IOException {
    startStream();
    writeEnvelope(0, encode(message));
  }

  /** Ends a server stream successfully. */
  void end() throws IOException {
    startStream();
    writeEnvelope(FLAG_END_STREAM, "{}".getBytes(StandardCharsets.UTF_8));
    exchange.getResponseBody().close();
  }

  /**
   * Ends the call with an error: an HTTP status for a unary call, the end envelope for a stream.
   */
  void fail(Status status) throws IOException {
    String error = errorJson(status);
    if (streaming) {
      startStream();
      writeEnvelope(
          FLAG_END_STREAM, ("{\"error\":" + error + "}").getBytes(StandardCharsets.UTF_8));
      exchange.getResponseBody().close();
      return;
    }
    byte[] body = error.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(httpStatus(status.getCode()), body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** Whether the response has begun (a stream's headers are out). */
  boolean started() {
    return headersSent;
  }

  private void startStream() throws IOException {
    if (!headersSent) {
      headersSent = true;
      exchange
          .getResponseHeaders()
          .set("Content-Type", json ? "application/connect+json" : "application/connect+proto");
      // Length 0: chunked, so that each envelope goes out when it is flushed.
      exchange.sendResponseHeaders(200, 0);
    }
  }

  private void writeEnvelope(int flags, byte[] message) throws IOException {
    OutputStream out = exchange.getResponseBody();
    byte[] frame = new byte[5 + message.length];
    frame[0] = (byte) flags;
    frame[1] = (byte) (message.length >>> 24);
    frame[2] = (byte) (message.length >>> 16);
    frame[3] = (byte) (message.length >>> 8);
    frame[4] = (byte) message.length;
    System.arraycopy(message, 0, frame, 5, message.length);
    out.write(frame);
    out.flush();
  }

  private byte[] encode(Message message) throws IOException {
    return json ? PRINTER.print(message).getBytes(StandardCharsets.UTF_8) : message.toByteArray();
  }

  /** The Connect error object: {@code {"code":"not_found","message":"..."}}. */
  static String errorJson(Status status) {
    String message = status.getDescription() == null ? "" : status.getDescription();
    return "{\"code\":\"" + code(status.getCode()) + "\",\"message\":" + quote(message) + "}";
  }

  /** A JSON string literal. */
  static String quote(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  /** Connect's name of a gRPC code: the same codes, in snake case ("cancelled" is "canceled"). */
  static String code(Status.Code code) {
    return code == Status.Code.CANCELLED ? "canceled" : code.name().toLowerCase(Locale.ROOT);
  }

  /** The HTTP status Connect gives a unary error of this code. */
  static int httpStatus(Status.Code code) {
    switch (code) {
      case CANCELLED:
        return 499;
      case INVALID_ARGUMENT:
      case OUT_OF_RANGE:
        return 400;
      case DEADLINE_EXCEEDED:
        return 504;
      case NOT_FOUND:
        return 404;
      case ALREADY_EXISTS:
      case ABORTED:
        return 409;
      case PERMISSION_DENIED:
        return 403;
      case RESOURCE_EXHAUSTED:
        return 429;
      case FAILED_PRECONDITION:
        return 412;
      case UNIMPLEMENTED:
        return 501;
      case UNAVAILABLE:
        return 503;
      case UNAUTHENTICATED:
        return 401;
      default:
        return 500;
    }
  }

  static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  /** Connect-Timeout-Ms: the time the caller gives the call; 0 when it gives none. */
  static long timeoutMs(HttpExchange exchange) {
    String header = exchange.getRequestHeaders().getFirst("Connect-Timeout-Ms");
    if (header == null || header.isBlank()) {
      return 0;
    }
    try {
      return Math.max(0, Long.parseLong(header.strip()));
    } catch (NumberFormatException e) {
      throw invalid("bad Connect-Timeout-Ms: " + header);
    }
  }
}
