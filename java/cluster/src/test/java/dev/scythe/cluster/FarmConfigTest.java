package dev.scythe.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class FarmConfigTest {
    @Test
    void aHungMemberIsOutAfterTenSecondsByDefaultAndNoDiscoveryButTheListedAddresses() {
        Config c = FarmConfig.joining(List.of("10.0.0.1:5701", "10.0.0.2:5701")).member(4);
        assertEquals("10", c.getProperty("hazelcast.max.no.heartbeat.seconds"));
        assertEquals("4", c.getMemberAttributeConfig().getAttribute(Farm.SLOTS));
        assertFalse(c.getNetworkConfig().getJoin().getMulticastConfig().isEnabled());
        assertFalse(c.getNetworkConfig().getJoin().getAutoDetectionConfig().isEnabled());
        assertEquals(List.of("10.0.0.1:5701", "10.0.0.2:5701"),
                c.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
        assertFalse(c.isLiteMember());
        assertTrue(FarmConfig.joining(List.of("10.0.0.1:5701")).coordinator().isLiteMember());
        Config h = FarmConfig.joining(List.of("10.0.0.1:5701")).withHeartbeat(Duration.ofSeconds(3)).member(1);
        assertEquals("3", h.getProperty("hazelcast.max.no.heartbeat.seconds"));
    }

    @Test
    void aFarmOnLoopbackListensOnLoopbackOnly() {
        FarmConfig f = FarmConfig.joining(List.of("127.0.0.1:5701", "localhost:5702"));
        assertEquals("127.0.0.1", f.address());
        Config c = f.coordinator();
        assertEquals(List.of("127.0.0.1"), List.copyOf(c.getNetworkConfig().getInterfaces().getInterfaces()));
        assertEquals("false", c.getProperty("hazelcast.socket.bind.any"));
        assertEquals(null, FarmConfig.joining(List.of("10.0.0.1:5701")).address());
    }

    @Test
    void badSettingsAreRefusedNamingTheValue() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FarmConfig.joining(List.of("nohost")))
                .getMessage().contains("'nohost'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FarmConfig.joining(List.of()).withPort(70000))
                .getMessage().contains("70000"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FarmConfig.joining(List.of()).member(0))
                .getMessage().contains("got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FarmConfig.joining(List.of())
                .withHeartbeat(Duration.ofMillis(500))).getMessage().contains("PT0.5S"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new RemoteJob(List.of("cat"),
                java.util.Map.of("../x", new byte[0]), 0, 0, null, RemoteJob.Success.EXIT_ZERO))
                .getMessage().contains("'../x'"));
    }

    @Test
    void membersReadBackOnlyScythesTypesAndPlainJdkData() throws Exception {
        try (TestFarm t = new TestFarm(1, 1)) {
            var serialization = ((com.hazelcast.spi.impl.SerializationServiceSupport) t.members.get(0).instance())
                    .getSerializationService();
            RemoteJob job = RemoteJob.of(List.of("true"), 1000);
            assertEquals(job.argv(), ((RemoteJob) serialization.toObject(serialization.toData(job))).argv());
            java.util.concurrent.Callable<String> lambda =
                    (java.util.concurrent.Callable<String> & java.io.Serializable) () -> "ran";
            var data = serialization.toData(lambda);
            var e = assertThrows(Exception.class, () -> serialization.toObject(data));
            String all = "";
            for (Throwable x = e; x != null; x = x.getCause()) {
                all += x + "\n";
            }
            assertTrue(all.contains("java.lang.invoke.SerializedLambda"), all);
        }
    }
}
