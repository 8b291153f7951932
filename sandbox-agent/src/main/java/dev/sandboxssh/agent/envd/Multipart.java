package dev.sandboxssh.agent.envd;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** A multipart/form-data body (RFC 7578), as the E2B SDK uploads files: its parts in order. */
final class Multipart {
  private Multipart() {}

  /** One part: its form field name, its file name (or null) and its bytes. */
  record Part(String name, String filename, byte[] data) {}

  /** The parts of {@code body}; malformed framing is refused with INVALID_ARGUMENT. */
  static List<Part> parse(byte[] body, String boundary) {
    byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    List<Part> parts = new ArrayList<>();
    int at = indexOf(body, delimiter, 0);
    if (at < 0) {
      throw Connect.invalid("multipart body without its boundary");
    }
    while (true) {
      int after = at + delimiter.length;
      if (after + 1 < body.length && body[after] == '-' && body[after + 1] == '-') {
        return parts; // the closing delimiter
      }
      int headersStart = skipLineEnd(body, after);
      int headersEnd =
          indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), headersStart);
      if (headersEnd < 0) {
        throw Connect.invalid("multipart part without the end of its headers");
      }
      String headers =
          new String(body, headersStart, headersEnd - headersStart, StandardCharsets.UTF_8);
      int dataStart = headersEnd + 4;
      byte[] next = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
      int dataEnd = indexOf(body, next, dataStart);
      if (dataEnd < 0) {
        throw Connect.invalid("multipart part without a closing boundary");
      }
      String name = null;
      String filename = null;
      for (String line : headers.split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0
            && line.substring(0, colon)
                .strip()
                .toLowerCase(Locale.ROOT)
                .equals("content-disposition")) {
          name = FilesystemFace.parameter(line.substring(colon + 1), "name");
          filename = FilesystemFace.parameter(line.substring(colon + 1), "filename");
        }
      }
      parts.add(new Part(name, filename, Arrays.copyOfRange(body, dataStart, dataEnd)));
      at = dataEnd + 2;
    }
  }

  private static int skipLineEnd(byte[] body, int at) {
    while (at < body.length && (body[at] == ' ' || body[at] == '\t')) {
      at++;
    }
    if (at + 1 < body.length && body[at] == '\r' && body[at + 1] == '\n') {
      return at + 2;
    }
    return at;
  }

  private static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
