package dev.sandboxssh.agent.envd;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sandboxssh.envd.process.ListResponse;
import dev.sandboxssh.sdk.CommandHandle;
import dev.sandboxssh.sdk.CommandOptions;
import dev.sandboxssh.sdk.Sandbox;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official E2B SDK (npm {@code e2b}, pinned in {@code src/test/e2b}) runs the E2B
 * documentation's examples against the packaged agent's envd face ({@code --envd-listen}); each
 * scenario of {@code scenarios.mjs} prints what it saw and is asserted here. Needs {@code node} and
 * {@code npm ci} in {@code src/test/e2b} ({@code .ci/run} does it); without them the tests fail.
 */
@Tag("e2e")
class E2bSdkIT {
  private static final Path JAR = Path.of("target", "sandbox-agent.jar").toAbsolutePath();
  private static final Path SDK_DIR = Path.of("src", "test", "e2b").toAbsolutePath();
  private static final String TOKEN = "envd-face-token";
  private static final Duration STARTUP = Duration.ofSeconds(30);

  @TempDir static Path tmp;
  private static Path home;
  private static Process agent;
  private static int grpcPort;
  private static int envdPort;

  @BeforeAll
  static void startAgent() throws Exception {
    assertThat(JAR).as("run after package").exists();
    assertThat(SDK_DIR.resolve("node_modules/e2b/package.json"))
        .as("the e2b npm package: run `npm ci` in " + SDK_DIR + " (.ci/run does)")
        .exists();
    home = Files.createDirectories(tmp.resolve("home"));
    Path token = tmp.resolve("token");
    Files.writeString(token, TOKEN + "\n");
    agent =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                JAR.toString(),
                "--listen",
                "127.0.0.1:0",
                "--envd-listen",
                "127.0.0.1:0",
                "--token-file",
                token.toString(),
                "--root",
                home.toString())
            .redirectError(tmp.resolve("agent.err").toFile())
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(agent.getInputStream(), StandardCharsets.UTF_8));
    String first = out.readLine();
    String second = out.readLine();
    assertThat(first).startsWith("listening 127.0.0.1:");
    assertThat(second).startsWith("envd listening 127.0.0.1:");
    grpcPort = Integer.parseInt(first.substring(first.lastIndexOf(':') + 1));
    envdPort = Integer.parseInt(second.substring(second.lastIndexOf(':') + 1));
  }

  @AfterAll
  static void stopAgent() throws Exception {
    if (agent != null) {
      agent.destroy();
      assertThat(agent.waitFor(STARTUP.toSeconds(), TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void backgroundCommandStreamsStdoutUntilKilled() throws Exception {
    JsonObject r = scenario("background");
    assertThat(r.get("out").getAsString()).isEqualTo("hello\n");
    assertThat(r.get("listedBefore").getAsBoolean()).isTrue();
    assertThat(r.get("killed").getAsBoolean()).isTrue();
    JsonObject waited = r.getAsJsonObject("waited");
    assertThat(waited.get("name").getAsString()).isEqualTo("CommandExitError");
    assertThat(waited.get("message").getAsString()).isEqualTo("signal: killed");
    assertThat(r.get("listedAfter").getAsBoolean()).isFalse();
  }

  @Test
  void listShowsBinBashForABackgroundCommandAndDropsItAfterKill() throws Exception {
    JsonObject r = scenario("list");
    assertThat(r.get("cmd").getAsString()).isEqualTo("/bin/bash");
    assertThat(strings(r.get("args"))).containsExactly("-l", "-c", "sleep 300");
    assertThat(r.get("killed").getAsBoolean()).isTrue();
    assertThat(r.get("listedAfter").getAsBoolean()).isFalse();
    assertThat(r.get("killedAgain").getAsBoolean()).as("kill of a gone pid is false").isFalse();
  }

  @Test
  void ptyInputResizeDisconnectReconnectAndWait() throws Exception {
    JsonObject r = scenario("pty");
    assertThat(r.get("firstSawHello").getAsBoolean()).isTrue();
    assertThat(r.get("listedWhileDetached").getAsBoolean()).isTrue();
    assertThat(r.get("secondSawWorld").getAsBoolean()).isTrue();
    assertThat(r.get("exitCode").getAsInt()).isZero();
    assertThat(r.get("listedAfter").getAsBoolean()).isFalse();
  }

  @Test
  void timeoutEndsPtySessionsAndCommands() throws Exception {
    JsonObject r = scenario("timeout");
    assertThat(r.get("listedAtFirst").getAsBoolean()).isTrue();
    assertThat(r.get("listedAfter").getAsBoolean()).as("a 1.5 s PTY is gone after 3 s").isFalse();
    assertThat(r.getAsJsonObject("command").get("name").getAsString()).isEqualTo("TimeoutError");
    assertThat(r.get("elapsedMs").getAsLong()).isLessThan(5000);
    assertThat(r.get("sleeping").getAsInt()).as("the timed-out command was killed").isZero();
  }

  @Test
  void foregroundCommandsGiveOutputExitCodeAndCommandExitError() throws Exception {
    JsonObject r = scenario("run");
    JsonObject ok = r.getAsJsonObject("ok");
    assertThat(ok.get("exitCode").getAsInt()).isZero();
    assertThat(ok.get("stdout").getAsString()).isEqualTo("out\n" + home.toRealPath() + "\n");
    assertThat(ok.get("stderr").getAsString()).isEqualTo("err\n");
    JsonObject failed = r.getAsJsonObject("failed");
    assertThat(failed.get("isCommandExitError").getAsBoolean()).isTrue();
    assertThat(failed.get("exitCode").getAsInt()).isEqualTo(3);
    assertThat(failed.get("stderr").getAsString()).isEqualTo("bad\n");
    assertThat(failed.get("stdout").getAsString()).isEqualTo("partial\n");
    assertThat(r.get("cat").getAsString()).as("stdin closed by default").isEqualTo("after-cat\n");
    assertThat(r.get("piped").getAsString())
        .as("stdin: true, then closeStdin")
        .isEqualTo("PIPED\n");
    assertThat(r.get("env").getAsString())
        .isEqualTo("hi in " + home.toRealPath().resolve("workdir") + "\n");
  }

  @Test
  void watchDirReportsChangesRecursivelyUntilStopped() throws Exception {
    JsonObject r = scenario("watch");
    List<String> events = strings(r.get("events"));
    assertThat(events)
        .contains("create:new.txt", "create:sub/deep.txt", "write:sub/deep.txt", "remove:new.txt");
    assertThat(events).noneMatch(e -> e.contains("after-stop"));
    assertThat(r.getAsJsonObject("missing").get("name").getAsString())
        .isEqualTo("FileNotFoundError");
  }

  @Test
  void filesWriteReadListAndManage() throws Exception {
    JsonObject r = scenario("files");
    Path notes = home.resolve("notes");
    assertThat(r.getAsJsonObject("written").get("path").getAsString())
        .isEqualTo(notes.resolve("hello.txt").toString());
    assertThat(r.get("text").getAsString()).isEqualTo("hi there\n");
    assertThat(strings(r.get("many")))
        .containsExactly(
            notes.resolve("many/a.txt").toString(), notes.resolve("many/b.txt").toString());
    assertThat(strings(r.get("manyBack"))).containsExactly("A", "BB", "zipped");
    assertThat(strings(r.get("deep")))
        .containsExactly("bin.dat", "hello.txt", "many", "many/a.txt", "many/b.txt", "many/z.txt");
    assertThat(strings(r.get("back"))).containsExactly("0", "1", "2", "255");
    assertThat(strings(r.get("listed"))).containsExactly("bin.dat:file:4", "hello.txt:file:9");
    assertThat(r.get("made").getAsBoolean()).isTrue();
    assertThat(r.get("madeAgain").getAsBoolean()).isFalse();
    assertThat(r.get("existsOld").getAsBoolean()).isFalse();
    assertThat(r.get("existsNew").getAsBoolean()).isTrue();
    assertThat(strings(r.get("afterRemove"))).containsExactly("sub");
    assertThat(r.getAsJsonObject("missing").get("name").getAsString())
        .isEqualTo("FileNotFoundError");
    // What the SDK wrote is what the sandbox holds.
    assertThat(Files.readString(notes.resolve("sub/moved.txt"))).isEqualTo("hi there\n");
    assertThat(Files.isDirectory(notes.resolve("sub/deeper"))).isTrue();
    assertThat(notes.resolve("bin.dat")).doesNotExist();
  }

  @Test
  void wrongOrMissingTokenIsRefusedEverywhere() throws Exception {
    JsonObject r = scenario("refused");
    assertThat(r.keySet()).hasSize(8);
    for (String key : r.keySet()) {
      assertThat(r.get(key).getAsString()).as(key).isEqualTo("AuthenticationError");
    }
    assertThat(home.resolve("refused.txt")).doesNotExist();
  }

  @Test
  void oneProcessTableForBothFaces() throws Exception {
    // Started through gRPC, listed through envd (in Connect's binary codec); then killed
    // through envd, gone for gRPC.
    try (Sandbox sandbox = Sandbox.connect("127.0.0.1:" + grpcPort, TOKEN)) {
      sandbox.awaitReady(STARTUP);
      CommandHandle h =
          sandbox.commands().run("sleep 123", CommandOptions.create().background(true));
      HttpResponse<byte[]> list = post("/process.Process/List", "application/proto", new byte[0]);
      assertThat(list.statusCode()).isEqualTo(200);
      assertThat(list.headers().firstValue("Content-Type")).hasValue("application/proto");
      assertThat(ListResponse.parseFrom(list.body()).getProcessesList())
          .anyMatch(
              p -> p.getPid() == h.pid() && p.getConfig().getArgsList().contains("sleep 123"));
      HttpResponse<byte[]> kill =
          post(
              "/process.Process/SendSignal",
              "application/json",
              ("{\"process\":{\"pid\":" + h.pid() + "},\"signal\":\"SIGNAL_SIGKILL\"}")
                  .getBytes(StandardCharsets.UTF_8));
      assertThat(kill.statusCode()).isEqualTo(200);
      assertThat(h.waitFor().signal()).isEqualTo("KILL");
      assertThat(sandbox.commands().list()).noneMatch(p -> p.pid() == h.pid());
    }
  }

  @Test
  void connectProtocolErrorsAndHealth() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> health =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + envdPort + "/health")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(204);
    HttpResponse<String> noToken =
        http.send(
            HttpRequest.newBuilder(URI.create(base() + "/process.Process/List"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(noToken.statusCode()).isEqualTo(401);
    assertThat(JsonParser.parseString(noToken.body()).getAsJsonObject().get("code").getAsString())
        .isEqualTo("unauthenticated");
    HttpResponse<byte[]> unknownPid =
        post(
            "/process.Process/SendInput",
            "application/json",
            "{\"process\":{\"pid\":999999},\"input\":{\"stdin\":\"aGk=\"}}"
                .getBytes(StandardCharsets.UTF_8));
    assertThat(unknownPid.statusCode()).isEqualTo(404);
    assertThat(new String(unknownPid.body(), StandardCharsets.UTF_8)).contains("\"not_found\"");
    HttpResponse<byte[]> badType = post("/process.Process/List", "text/plain", new byte[0]);
    assertThat(badType.statusCode()).isEqualTo(415);
  }

  @Test
  void binaryStreamingStartIsFramedAsConnectSays() throws Exception {
    byte[] request =
        dev.sandboxssh.envd.process.StartRequest.newBuilder()
            .setProcess(
                dev.sandboxssh.envd.process.ProcessConfig.newBuilder()
                    .setCmd("/bin/sh")
                    .addArgs("-c")
                    .addArgs("printf framed; exit 7"))
            .build()
            .toByteArray();
    java.io.ByteArrayOutputStream envelope = new java.io.ByteArrayOutputStream();
    java.io.DataOutputStream data = new java.io.DataOutputStream(envelope);
    data.writeByte(0);
    data.writeInt(request.length);
    data.write(request);
    HttpResponse<byte[]> r =
        post("/process.Process/Start", "application/connect+proto", envelope.toByteArray());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/connect+proto");
    java.io.DataInputStream in =
        new java.io.DataInputStream(new java.io.ByteArrayInputStream(r.body()));
    List<dev.sandboxssh.envd.process.ProcessEvent> events = new ArrayList<>();
    String trailer = null;
    while (trailer == null) {
      int flags = in.readUnsignedByte();
      byte[] message = in.readNBytes(in.readInt());
      if ((flags & 2) != 0) {
        trailer = new String(message, StandardCharsets.UTF_8);
      } else {
        events.add(dev.sandboxssh.envd.process.StartResponse.parseFrom(message).getEvent());
      }
    }
    assertThat(in.read()).as("nothing after the end of the stream").isEqualTo(-1);
    assertThat(trailer).isEqualTo("{}");
    assertThat(events.get(0).hasStart()).isTrue();
    StringBuilder stdout = new StringBuilder();
    events.stream()
        .filter(e -> e.hasData())
        .forEach(e -> stdout.append(e.getData().getStdout().toStringUtf8()));
    assertThat(stdout.toString()).isEqualTo("framed");
    dev.sandboxssh.envd.process.ProcessEvent last = events.get(events.size() - 1);
    assertThat(last.getEnd().getExitCode()).isEqualTo(7);
    assertThat(last.getEnd().getStatus()).isEqualTo("exit status 7");
  }

  @Test
  void polledWatchersQueueEventsUntilRemoved() throws Exception {
    Files.createDirectories(home.resolve("polled"));
    HttpResponse<byte[]> created =
        post(
            "/filesystem.Filesystem/CreateWatcher",
            "application/json",
            utf8("{\"path\":\"polled\"}"));
    assertThat(created.statusCode())
        .as(new String(created.body(), StandardCharsets.UTF_8))
        .isEqualTo(200);
    String id = json(created).get("watcherId").getAsString();
    Files.writeString(home.resolve("polled/seen.txt"), "x");
    List<String> events = new ArrayList<>();
    long deadline = System.nanoTime() + STARTUP.toNanos();
    while (!events.contains("EVENT_TYPE_CREATE:seen.txt") && System.nanoTime() < deadline) {
      HttpResponse<byte[]> got =
          post(
              "/filesystem.Filesystem/GetWatcherEvents",
              "application/json",
              utf8("{\"watcherId\":\"" + id + "\"}"));
      assertThat(got.statusCode()).isEqualTo(200);
      JsonElement list = json(got).get("events");
      if (list != null) {
        for (JsonElement e : list.getAsJsonArray()) {
          JsonObject o = e.getAsJsonObject();
          events.add(o.get("type").getAsString() + ":" + o.get("name").getAsString());
        }
      }
      Thread.sleep(50);
    }
    assertThat(events).contains("EVENT_TYPE_CREATE:seen.txt");
    String body = "{\"watcherId\":\"" + id + "\"}";
    assertThat(
            post("/filesystem.Filesystem/RemoveWatcher", "application/json", utf8(body))
                .statusCode())
        .isEqualTo(200);
    HttpResponse<byte[]> gone =
        post("/filesystem.Filesystem/GetWatcherEvents", "application/json", utf8(body));
    assertThat(gone.statusCode()).isEqualTo(404);
    assertThat(json(gone).get("code").getAsString()).isEqualTo("not_found");
    HttpResponse<byte[]> missing =
        post(
            "/filesystem.Filesystem/CreateWatcher",
            "application/json",
            utf8("{\"path\":\"no-such-dir\"}"));
    assertThat(json(missing).get("code").getAsString()).isEqualTo("not_found");
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static JsonObject json(HttpResponse<byte[]> response) {
    return JsonParser.parseString(new String(response.body(), StandardCharsets.UTF_8))
        .getAsJsonObject();
  }

  private static String base() {
    return "http://127.0.0.1:" + envdPort;
  }

  private static HttpResponse<byte[]> post(String path, String type, byte[] body)
      throws IOException, InterruptedException {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(base() + path))
                .header("Content-Type", type)
                .header("X-Access-Token", TOKEN)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
  }

  private static List<String> strings(JsonElement array) {
    List<String> out = new ArrayList<>();
    array.getAsJsonArray().forEach(e -> out.add(e.getAsString()));
    return out;
  }

  /** Runs one scenario of scenarios.mjs with node and returns the JSON it printed. */
  private static JsonObject scenario(String name) throws Exception {
    Path stderr = tmp.resolve(name + ".err");
    ProcessBuilder pb =
        new ProcessBuilder("node", "scenarios.mjs", name)
            .directory(SDK_DIR.toFile())
            .redirectError(stderr.toFile());
    pb.environment().put("ENVD_URL", base());
    pb.environment().put("TOKEN", TOKEN);
    // Only the URL given here: an E2B_* variable of the caller's must not redirect the SDK.
    pb.environment().keySet().removeIf(k -> k.startsWith("E2B_"));
    Process node = pb.start();
    node.getOutputStream().close();
    String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(node.waitFor(120, TimeUnit.SECONDS)).as(name + " finished").isTrue();
    assertThat(node.exitValue()).as(name + " failed: " + out + Files.readString(stderr)).isZero();
    return JsonParser.parseString(out.strip()).getAsJsonObject();
  }
}
