package dev.sandboxssh.gateway.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class IdleMemoryTest {
  @Test
  void anIdleGatewayCollectsPeriodicallyAndKeepsLittleFreeHeap() {
    HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    boolean g1 =
        ManagementFactory.getGarbageCollectorMXBeans().stream()
            .anyMatch(gc -> gc.getName().startsWith("G1"));
    assertThat(g1).as("the test JVM runs G1, the gateway's default collector").isTrue();

    IdleMemory.configure();

    assertThat(vm.getVMOption("G1PeriodicGCInterval").getValue()).isEqualTo("30000");
    assertThat(vm.getVMOption("MaxHeapFreeRatio").getValue()).isEqualTo("30");
    assertThat(vm.getVMOption("MinHeapFreeRatio").getValue()).isEqualTo("10");
    assertThat(vm.getVMOption("MaxHeapFreeRatio").getOrigin())
        .isEqualTo(VMOption.Origin.MANAGEMENT);
    assertThat(System.getProperty("io.grpc.netty.shaded.io.netty.allocator.numDirectArenas"))
        .isEqualTo("1");
  }
}
