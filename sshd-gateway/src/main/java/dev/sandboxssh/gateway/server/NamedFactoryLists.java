package dev.sandboxssh.gateway.server;

import java.util.List;
import org.apache.sshd.common.OptionalFeature;

/** Filters algorithm lists down to what this JVM (with BouncyCastle) supports. */
final class NamedFactoryLists {
  private NamedFactoryLists() {}

  static <T extends OptionalFeature> List<T> supported(List<T> wanted) {
    return wanted.stream().filter(OptionalFeature::isSupported).toList();
  }
}
