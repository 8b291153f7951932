package dev.sandboxssh;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.platform.commons.annotation.Testable;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Every test class of this module runs in one of the two phases: surefire takes classes named
 * {@code *Test} that are not tagged {@code e2e}, failsafe takes those named {@code *Test} or {@code
 * *IT} that are. A class named otherwise, or an {@code *IT} whose tag is missing or misspelt, would
 * silently run in neither.
 */
class TestClassesRunTest {
  @Test
  void everyTestClassIsPickedUpBySurefireOrFailsafe() throws Exception {
    Path root = Path.of(getClass().getProtectionDomain().getCodeSource().getLocation().toURI());
    List<String> testClasses = new ArrayList<>();
    List<String> neverRun = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        String relative = root.relativize(file).toString();
        if (!relative.endsWith(".class") || relative.contains("$")) {
          continue;
        }
        String name = relative.substring(0, relative.length() - 6).replace('/', '.');
        Class<?> type = Class.forName(name, false, getClass().getClassLoader());
        if (Modifier.isAbstract(type.getModifiers()) || !declaresTests(type)) {
          continue;
        }
        testClasses.add(type.getSimpleName());
        boolean e2e =
            AnnotationSupport.findRepeatableAnnotations(type, Tag.class).stream()
                .anyMatch(tag -> tag.value().equals("e2e"));
        String simple = type.getSimpleName();
        if (!(simple.endsWith("Test") || (e2e && simple.endsWith("IT")))) {
          neverRun.add(simple + (e2e ? " (tagged e2e)" : " (not tagged e2e)"));
        }
      }
    }
    assertThat(testClasses).contains(getClass().getSimpleName());
    assertThat(neverRun).as("test classes that neither surefire nor failsafe runs").isEmpty();
  }

  private static boolean declaresTests(Class<?> type) {
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (AnnotationSupport.isAnnotated(m, Testable.class)) {
          return true;
        }
      }
    }
    return false;
  }
}
