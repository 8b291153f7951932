package dev.sandboxssh.gateway.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real keys from OpenSSH's ssh-keygen. CI installs openssh-client; when ssh-keygen is missing the
 * tests fail (an IOException from ProcessBuilder) rather than skip.
 */
public final class TestKeys {

  private TestKeys() {}

  /** Generates a key pair {@code dir/name} of {@code type}; returns the .pub file. */
  public static Path generate(Path dir, String name, String type, String comment)
      throws IOException, InterruptedException {
    Path priv = dir.resolve(name);
    List<String> cmd =
        new ArrayList<>(List.of("ssh-keygen", "-q", "-t", type, "-N", "", "-C", comment));
    if (type.equals("rsa")) {
      cmd.addAll(List.of("-b", "2048"));
    }
    cmd.addAll(List.of("-f", priv.toString()));
    run(cmd);
    return dir.resolve(name + ".pub");
  }

  /** The fingerprint ssh-keygen prints for a public-key file. */
  public static String fingerprint(Path pub) throws IOException, InterruptedException {
    // "256 SHA256:abc... comment (ED25519)"
    return run(List.of("ssh-keygen", "-E", "sha256", "-l", "-f", pub.toString())).split(" ")[1];
  }

  /** Signs {@code pub} with CA key {@code ca}, giving {@code <name>-cert.pub}. */
  public static Path certify(Path ca, Path pub) throws IOException, InterruptedException {
    run(List.of("ssh-keygen", "-q", "-s", ca.toString(), "-I", "test", "-n", "x", pub.toString()));
    String name = pub.getFileName().toString().replaceFirst("\\.pub$", "");
    return pub.resolveSibling(name + "-cert.pub");
  }

  /** Runs a command and returns its stdout; fails on a non-zero exit. */
  public static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(cmd + " failed: " + out);
    }
    return out;
  }
}
