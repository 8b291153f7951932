package dev.sandboxssh.gateway.config;

import java.util.List;

/** A configuration with one or more bad fields; the message names every one. */
public final class ConfigException extends RuntimeException {
  private final List<String> problems;

  /** One problem per bad field. */
  public ConfigException(List<String> problems) {
    super("invalid configuration: " + String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  /** One problem per bad field, found in {@code source} (a file name). */
  public ConfigException(String source, List<String> problems) {
    super(source + ": invalid configuration: " + String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Each bad field with what is wrong with it. */
  public List<String> problems() {
    return problems;
  }
}
