package dev.sandboxssh.gateway;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Holds the package arrows of DESIGN.md: CLI/app -> server -> {auth, bridge} -> {routing, session,
 * SDK} -> generated API, with config, store and the events interface underneath everything; ops
 * (metrics, health, audit) is wired by the app alone.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.sandboxssh.gateway", "dev.sandboxssh.sdk");
  }

  @Test
  void layersPointOneWay() {
    layeredArchitecture()
        .consideringOnlyDependenciesInLayers()
        .layer("cli")
        .definedBy("dev.sandboxssh.gateway.cli..", "dev.sandboxssh.gateway.app..")
        .layer("ops")
        .definedBy("dev.sandboxssh.gateway.ops..")
        .layer("server")
        .definedBy("dev.sandboxssh.gateway.server..")
        .layer("auth")
        .definedBy("dev.sandboxssh.gateway.auth..")
        .layer("bridge")
        .definedBy("dev.sandboxssh.gateway.bridge..")
        .layer("session")
        .definedBy("dev.sandboxssh.gateway.session..")
        .layer("routing")
        .definedBy("dev.sandboxssh.gateway.routing..")
        .layer("sdk")
        .definedBy("dev.sandboxssh.sdk..")
        .layer("foundation")
        .definedBy(
            "dev.sandboxssh.gateway.store..",
            "dev.sandboxssh.gateway.config..",
            "dev.sandboxssh.gateway.events..")
        .whereLayer("cli")
        .mayNotBeAccessedByAnyLayer()
        .whereLayer("ops")
        .mayOnlyBeAccessedByLayers("cli")
        .whereLayer("server")
        .mayOnlyBeAccessedByLayers("cli")
        .whereLayer("auth")
        .mayOnlyBeAccessedByLayers("cli", "server")
        .whereLayer("bridge")
        .mayOnlyBeAccessedByLayers("cli", "server")
        .whereLayer("session")
        .mayOnlyBeAccessedByLayers("cli", "server", "auth", "bridge")
        .whereLayer("routing")
        .mayOnlyBeAccessedByLayers("cli", "server", "auth", "bridge", "session")
        .whereLayer("sdk")
        .mayOnlyBeAccessedByLayers("cli", "server", "bridge", "session", "routing")
        .check(classes);
  }

  @Test
  void onlyTheSdkTalksToGeneratedStubs() {
    noClasses()
        .that()
        .resideInAPackage("dev.sandboxssh.gateway..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.sandboxssh.api..", "io.grpc..")
        .check(classes);
  }

  @Test
  void onlyOpsKnowsHowEventsAreRecorded() {
    // Everything else reports through GatewayEvents; Micrometer, the HTTP server and the JSON
    // encoder stay behind it.
    noClasses()
        .that()
        .resideInAnyPackage("dev.sandboxssh.gateway..", "dev.sandboxssh.sdk..")
        .and()
        .resideOutsideOfPackage("dev.sandboxssh.gateway.ops..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.micrometer..", "com.sun.net.httpserver..", "net.logstash..")
        .check(classes);
  }

  @Test
  void eventsDependOnNothingOfTheGateway() {
    noClasses()
        .that()
        .resideInAPackage("dev.sandboxssh.gateway.events..")
        .should()
        .dependOnClassesThat()
        .resideOutsideOfPackages("java..", "dev.sandboxssh.gateway.events..")
        .check(classes);
  }

  @Test
  void theGatewayNeverUsesTheAgentsClasses() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.sandboxssh.gateway..", "dev.sandboxssh.sdk..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.sandboxssh.agent..")
        .check(classes);
  }

  @Test
  void onlyRoutingUnixCallsNativeCode() {
    // Taking a local process's stdio (SCM_RIGHTS, poll) and mounting a spare agent's home are the
    // gateway's uses of libc, kept in one package.
    noClasses()
        .that()
        .resideInAnyPackage("dev.sandboxssh.gateway..", "dev.sandboxssh.sdk..")
        .and()
        .resideOutsideOfPackage("dev.sandboxssh.gateway.routing.unix..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("com.sun.jna..")
        .check(classes);
  }

  @Test
  void onlyRoutingKubernetesTalksToTheKubernetesApi() {
    // One package holds the client, so that a gateway without kubernetes.enabled never loads it.
    noClasses()
        .that()
        .resideInAnyPackage("dev.sandboxssh.gateway..", "dev.sandboxssh.sdk..")
        .and()
        .resideOutsideOfPackage("dev.sandboxssh.gateway.routing.kubernetes..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.fabric8..")
        .check(classes);
  }
}
