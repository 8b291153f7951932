package dev.sandboxssh.gateway.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which files the start-up cache's directory keeps once the current cache is there. */
class AgentStartupCacheTest {
  @TempDir Path dir;

  @Test
  void othersBuildsCachesAndHalfCopiesGoTheCurrentOneAndStrangersStay() throws IOException {
    Path current = Files.writeString(dir.resolve("agent-00000000000000aa.aot"), "current");
    Path older = Files.writeString(dir.resolve("agent-00000000000000bb.aot"), "older");
    Path partial = Files.writeString(dir.resolve("agent-00000000000000cc.aot.partial"), "half");
    Path stranger = Files.writeString(dir.resolve("notes.txt"), "not ours");
    Path training = Files.createDirectories(dir.resolve("training"));

    assertThat(AgentStartupCache.pruneOthers(dir, current)).isEqualTo(2);

    assertThat(current).exists();
    assertThat(stranger).exists();
    assertThat(training).isDirectory();
    assertThat(older).doesNotExist();
    assertThat(partial).doesNotExist();
  }

  @Test
  void aMissingDirectoryDeletesNothing() {
    Path none = dir.resolve("none");
    assertThat(AgentStartupCache.pruneOthers(none, none.resolve("agent-1.aot"))).isZero();
  }
}
