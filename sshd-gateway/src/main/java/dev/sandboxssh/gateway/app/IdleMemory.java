package dev.sandboxssh.gateway.app;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets an idle gateway give back the memory a burst of transfers made it take, without flags on the
 * {@code java -jar} line. A transfer allocates a packet buffer per 32 KiB, so G1 grows the heap
 * towards a quarter of the machine and, left alone, keeps it: about 0.5 GB resident on an idle
 * gateway here after a few GB of transfers. Each setting applies only where the operator did not
 * set that flag.
 */
final class IdleMemory {
  private static final Logger log = LoggerFactory.getLogger(IdleMemory.class);

  private IdleMemory() {}

  /** Applies the settings; call before the first gRPC channel is built. */
  static void configure() {
    // One netty arena instead of two per core: the gateway's agent channels are few and busy.
    setPropertyIfAbsent("io.grpc.netty.shaded.io.netty.allocator.numDirectArenas", "1");
    setPropertyIfAbsent("io.grpc.netty.shaded.io.netty.allocator.numHeapArenas", "1");
    HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    // These flags are manageable: settable while the JVM runs. After 30 s without a
    // collection G1 runs one, and sizes the heap so that at most 30% of it is free.
    setIfDefault(vm, "MinHeapFreeRatio", "10");
    setIfDefault(vm, "MaxHeapFreeRatio", "30");
    setIfDefault(vm, "G1PeriodicGCInterval", "30000");
  }

  private static void setPropertyIfAbsent(String name, String value) {
    if (System.getProperty(name) == null) {
      System.setProperty(name, value);
    }
  }

  private static void setIfDefault(HotSpotDiagnosticMXBean vm, String flag, String value) {
    try {
      if (vm.getVMOption(flag).getOrigin() == VMOption.Origin.DEFAULT) {
        vm.setVMOption(flag, value);
      }
    } catch (IllegalArgumentException e) {
      // Another collector or JVM without this flag: nothing to give back this way.
      log.debug("{} not set: {}", flag, e.getMessage());
    }
  }
}
