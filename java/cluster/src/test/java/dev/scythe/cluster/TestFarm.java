package dev.scythe.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.test.TestHazelcastInstanceFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A farm on Hazelcast's socket-free test cluster, in this JVM: members that run jobs (each with its own
 * {@link FarmMember} and supervisor) and one coordinator (a lite member with a {@link Farm}).
 */
final class TestFarm implements AutoCloseable {
    static {
        FarmConfig.quietLogging(); // Hazelcast's INFO lines would drown the tests' own output; warnings stay
    }

    final TestHazelcastInstanceFactory factory = new TestHazelcastInstanceFactory();
    final String name = "scythe-test-" + java.util.UUID.randomUUID();
    final List<FarmMember> members = new ArrayList<>();
    final Farm farm;

    TestFarm(int members, int slots) {
        this(members, slots, FarmConfig.HEARTBEAT);
    }

    TestFarm(int members, int slots, Duration heartbeat) {
        for (int i = 0; i < members; i++) {
            addMember(slots, heartbeat);
        }
        Config c = FarmConfig.common(name, heartbeat);
        c.setLiteMember(true);
        farm = Farm.attach(factory.newHazelcastInstance(c));
    }

    FarmMember addMember(int slots, Duration heartbeat) {
        Config c = FarmConfig.common(name, heartbeat);
        c.getMemberAttributeConfig().setAttribute(Farm.SLOTS, Integer.toString(slots));
        FarmMember m = FarmMember.attach(factory.newHazelcastInstance(c));
        members.add(m);
        return m;
    }

    /** Waits up to {@code seconds} for {@code condition}, polling; says whether it came. */
    static boolean await(java.util.function.BooleanSupplier condition, int seconds) {
        long until = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                return false;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
        }
        return true;
    }

    /** Kills a member as abruptly as the test cluster can (no goodbye to the others), and closes its Scythe. */
    void terminate(FarmMember m) {
        HazelcastInstance hz = m.instance();
        hz.getLifecycleService().terminate();
        m.close();
        members.remove(m);
    }

    @Override
    public void close() {
        try {
            farm.close();
            for (FarmMember m : members) {
                m.close();
                if (java.nio.file.Files.exists(m.scratchDir())) {
                    throw new AssertionError("member " + m.address() + " left its scratch " + m.scratchDir());
                }
            }
        } finally {
            factory.shutdownAll();
        }
    }
}
