package dev.sandboxssh.gateway.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A private PostgreSQL server for tests, from the machine's Debian {@code postgresql} package:
 * {@code initdb} in a fresh directory under /tmp, {@code postgres} on a free loopback port, a
 * superuser {@code gateway} with a password (scram-sha-256). PostgreSQL refuses to run as root, so
 * under root it runs as the package's {@code postgres} user.
 */
public final class PostgresServer implements AutoCloseable {
  public static final String USER = "gateway";

  private final Path dir;
  private final Path passwordFile;
  private final String password;
  private final int port;
  private final Process process;

  private PostgresServer(Path dir, Path passwordFile, String password, int port, Process process) {
    this.dir = dir;
    this.passwordFile = passwordFile;
    this.password = password;
    this.port = port;
    this.process = process;
  }

  /** Starts a server and waits until it accepts connections. */
  public static PostgresServer start() throws Exception {
    Path bin = binDir();
    // Under /tmp, not the build dir: the postgres user must be able to reach it.
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "pg-test");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    String password = "pw-" + UUID.randomUUID();
    Path passwordFile = Files.writeString(dir.resolve("password"), password + "\n");
    List<String> asUser = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      OpenSsh.Result chown =
          OpenSsh.run(
              List.of("chown", "-R", "postgres:postgres", dir.toString()),
              new byte[0],
              Timeouts.COMMAND);
      assertThat(chown.exitCode()).as("chown to postgres: %s", chown.stderr()).isZero();
      asUser.addAll(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"));
    }
    Path data = dir.resolve("data");
    List<String> initdb = new ArrayList<>(asUser);
    initdb.addAll(
        List.of(
            bin.resolve("initdb").toString(),
            "-D",
            data.toString(),
            "-U",
            USER,
            "--auth=scram-sha-256",
            "--pwfile=" + passwordFile,
            "-E",
            "UTF8",
            "--no-sync"));
    OpenSsh.Result init = OpenSsh.run(initdb, new byte[0], Timeouts.TRANSFER);
    assertThat(init.exitCode()).as("initdb: %s", init.stderr()).isZero();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<String> postgres = new ArrayList<>(asUser);
    postgres.addAll(
        List.of(
            bin.resolve("postgres").toString(),
            "-D",
            data.toString(),
            "-p",
            Integer.toString(port),
            "-h",
            "127.0.0.1",
            "-k",
            dir.toString(),
            "-F"));
    Process process =
        new ProcessBuilder(postgres)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("server.log").toFile())
            .start();
    PostgresServer server = new PostgresServer(dir, passwordFile, password, port, process);
    Eventually.until(
        "PostgreSQL accepts connections on port " + port,
        Timeouts.EVENTUALLY,
        () -> {
          if (!process.isAlive()) {
            fail("postgres exited: " + server.log());
          }
          try (Connection c = server.connect("postgres")) {
            return true;
          } catch (SQLException e) {
            return false;
          }
        });
    return server;
  }

  /** A new, empty database. */
  public void createDatabase(String name) throws SQLException {
    try (Connection c = connect("postgres");
        Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
  }

  /** The JDBC URL of {@code database}, without the password (it is in {@link #passwordFile()}). */
  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + USER;
  }

  /** A file holding the password, with a trailing newline as `echo` writes it. */
  public Path passwordFile() {
    return passwordFile;
  }

  private Connection connect(String database) throws SQLException {
    return DriverManager.getConnection(url(database), USER, password);
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("server.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static Path binDir() throws IOException {
    Path root = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(root)) {
      try (Stream<Path> versions = Files.list(root)) {
        var newest =
            versions
                .map(v -> v.resolve("bin"))
                .filter(b -> Files.isExecutable(b.resolve("initdb")))
                .max(
                    Comparator.comparing(
                        b ->
                            Integer.parseInt(
                                b.getParent().getFileName().toString().replaceAll("\\D", "0"))));
        if (newest.isPresent()) {
          return newest.get();
        }
      }
    }
    return fail("PostgreSQL is not installed: run .ci/run or apt-get install postgresql");
  }

  @Override
  public void close() throws IOException {
    process.destroy(); // SIGTERM: PostgreSQL's smart shutdown
    try {
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
