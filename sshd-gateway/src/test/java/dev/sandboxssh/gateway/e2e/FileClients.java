package dev.sandboxssh.gateway.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * Argument lists for the OpenSSH file clients ({@code sftp}, {@code scp}), {@code rsync} and {@code
 * sshfs} against a gateway, with the same deterministic options as {@link OpenSsh}, and file
 * helpers the file-transfer tests share.
 */
final class FileClients {
  private final OpenSsh ssh;
  private final Path dir;

  FileClients(OpenSsh ssh, Path dir) {
    this.ssh = ssh;
    this.dir = dir;
  }

  /** ssh's options for sftp and scp, which spell the port {@code -P}. */
  List<String> transferOptions() {
    List<String> options = ssh.options();
    options.set(options.indexOf("-p"), "-P");
    return options;
  }

  /** Runs {@code sftp -b} with these batch lines against {@code user}. */
  OpenSsh.Result sftpBatch(String user, String... lines) throws IOException {
    Path batch = java.nio.file.Files.createTempFile(dir, "batch", ".txt");
    java.nio.file.Files.writeString(batch, String.join("\n", lines) + "\n");
    return OpenSsh.run(sftpCommand(user, batch), new byte[0], Timeouts.TRANSFER);
  }

  /** The argv of {@code sftp -b BATCH user@host}. */
  List<String> sftpCommand(String user, Path batch) {
    List<String> argv = new ArrayList<>();
    argv.add(OpenSsh.binary("sftp"));
    argv.addAll(transferOptions());
    argv.addAll(List.of("-b", batch.toString(), user + "@127.0.0.1"));
    return argv;
  }

  /** Runs {@code scp [flags] from to}; remote operands are written {@code user@127.0.0.1:path}. */
  OpenSsh.Result scp(List<String> flags, String from, String to) {
    List<String> argv = new ArrayList<>();
    argv.add(OpenSsh.binary("scp"));
    argv.addAll(transferOptions());
    argv.addAll(flags);
    argv.add(from);
    argv.add(to);
    return OpenSsh.run(argv, new byte[0], Timeouts.TRANSFER);
  }

  /** The {@code -e} argument of rsync: ssh with the test's options. */
  String rsyncShell() {
    List<String> argv = new ArrayList<>();
    argv.add(OpenSsh.binary("ssh"));
    argv.addAll(ssh.options());
    return String.join(" ", argv);
  }

  /** A file of {@code size} pseudo-random bytes. */
  static Path randomFile(Path file, long size, long seed) throws IOException {
    Random random = new Random(seed);
    byte[] chunk = new byte[1 << 20];
    try (var out = Files.newOutputStream(file)) {
      for (long left = size; left > 0; left -= chunk.length) {
        random.nextBytes(chunk);
        out.write(chunk, 0, (int) Math.min(chunk.length, left));
      }
    }
    return file;
  }

  /** The SHA-256 of a file, in hex. */
  static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Text for assertion messages. */
  static String describe(OpenSsh.Result r) {
    return "exit " + r.exitCode() + "\nstdout: " + r.stdout() + "\nstderr: " + r.stderr();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
