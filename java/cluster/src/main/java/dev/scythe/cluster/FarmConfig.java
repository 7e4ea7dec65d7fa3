package dev.scythe.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.List;
import java.util.Objects;

/**
 * Hazelcast configurations for a Scythe farm: TCP/IP join to the given addresses (no multicast, no cloud
 * discovery), the heartbeat that detects a hung member, and the executor that runs jobs.
 *
 * @param clusterName  members join only a cluster of this name
 * @param address      the interface to bind and publish (an IP address of this machine), or null for Hazelcast's
 *                     choice
 * @param port         the first port to try; the next ones are tried when it is taken
 * @param join         {@code host:port} of members to join; empty for the first member
 * @param heartbeat    a member silent this long is removed from the cluster (its jobs end MemberLost)
 */
public record FarmConfig(String clusterName, String address, int port, List<String> join, Duration heartbeat) {
    /** The default cluster name. */
    public static final String CLUSTER = "scythe";
    /** The default port: Hazelcast's. */
    public static final int PORT = 5701;
    /** The default heartbeat timeout, as the issue of the cluster asks: a hung member is out after 10 s. */
    public static final Duration HEARTBEAT = Duration.ofSeconds(10);

    public FarmConfig {
        Objects.requireNonNull(clusterName, "clusterName");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, got " + port);
        }
        join = List.copyOf(join);
        for (String a : join) {
            int colon = a.lastIndexOf(':');
            if (colon <= 0 || !a.substring(colon + 1).matches("[0-9]{1,5}")) {
                throw new IllegalArgumentException("a member to join needs HOST:PORT, got '" + a + "'");
            }
        }
        if (heartbeat.toSeconds() < 1) {
            throw new IllegalArgumentException("heartbeat must be at least 1 s, got " + heartbeat);
        }
    }

    /**
     * The defaults, joining {@code join}; bound to 127.0.0.1 when every address to join is on the loopback, so a
     * farm on one machine never listens beyond it.
     */
    public static FarmConfig joining(List<String> join) {
        boolean loopback = !join.isEmpty() && join.stream().map(a -> a.substring(0, Math.max(0, a.lastIndexOf(':'))))
                .allMatch(h -> h.equals("127.0.0.1") || h.equals("localhost"));
        return new FarmConfig(CLUSTER, loopback ? "127.0.0.1" : null, PORT, join, HEARTBEAT);
    }

    public FarmConfig withClusterName(String name) {
        return new FarmConfig(name, address, port, join, heartbeat);
    }

    public FarmConfig withAddress(String a) {
        return new FarmConfig(clusterName, a, port, join, heartbeat);
    }

    public FarmConfig withPort(int p) {
        return new FarmConfig(clusterName, address, p, join, heartbeat);
    }

    public FarmConfig withHeartbeat(Duration h) {
        return new FarmConfig(clusterName, address, port, join, h);
    }

    /** A member that runs jobs, {@code slots} at a time (a coordinator places no more there). */
    public Config member(int slots) {
        if (slots < 1) {
            throw new IllegalArgumentException("slots must be >= 1, got " + slots);
        }
        Config c = base();
        c.getMemberAttributeConfig().setAttribute(Farm.SLOTS, Integer.toString(slots));
        return c;
    }

    /** A coordinator: a lite member (it holds no data and runs no jobs) that submits races and corpora. */
    public Config coordinator() {
        Config c = base();
        c.setLiteMember(true);
        return c;
    }

    /** The settings both kinds share; also used as-is by tests on Hazelcast's socket-free test cluster. */
    public static Config common(String clusterName, Duration heartbeat) {
        Config c = new Config();
        c.setClusterName(clusterName);
        c.setProperty("hazelcast.max.no.heartbeat.seconds", Long.toString(heartbeat.toSeconds()));
        c.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        c.setProperty("hazelcast.phone.home.enabled", "false");
        c.setProperty("hazelcast.shutdownhook.enabled", "false");
        c.setProperty("hazelcast.logging.type", "jdk");
        // Tasks and results travel by Java serialization: only Scythe's own types, Hazelcast's and the JDK's plain data
        // types are read back, never any other class on the classpath (Hazelcast's defaults would let every java*
        // package through, java.lang.invoke's serialized lambdas among them)
        c.getSerializationConfig().setJavaSerializationFilterConfig(new com.hazelcast.config.JavaSerializationFilterConfig()
                .setDefaultsDisabled(true)
                .setWhitelist(new com.hazelcast.config.ClassFilter().addPrefixes("dev.scythe.", "com.hazelcast.")
                        .addPackages("java.lang", "java.util", "java.time")
                        .addClasses("[B", "[Ljava.lang.Object;", "[Ljava.lang.String;")));
        // a job thread per job; a member runs its slots' jobs and a race may overcommit it, so the pool is generous
        c.getExecutorConfig(Farm.EXECUTOR).setPoolSize(256).setStatisticsEnabled(false);
        return c;
    }

    private Config base() {
        Config c = common(clusterName, heartbeat);
        NetworkConfig net = c.getNetworkConfig();
        net.setPort(port).setPortAutoIncrement(true).setPortCount(100);
        if (address != null) {
            net.setPublicAddress(address);
            net.getInterfaces().setEnabled(true).addInterface(address);
            c.setProperty("hazelcast.socket.bind.any", "false");
        }
        JoinConfig j = net.getJoin();
        j.getMulticastConfig().setEnabled(false);
        j.getAutoDetectionConfig().setEnabled(false);
        j.getTcpIpConfig().setEnabled(true).setMembers(join.isEmpty() && address != null ? List.of(address)
                : join);
        return c;
    }

    /**
     * Hazelcast logs through java.util.logging (as configured here); its INFO lines (joins, partitions, versions)
     * would bury scythe's own output. Warnings stay. Held in a field: a logger nobody references loses its level.
     */
    private static final Logger HAZELCAST = Logger.getLogger("com.hazelcast");

    /**
     * Hazelcast's warnings that tell a user nothing they could act on, by the logger (its class) and a part of the
     * message, and why: the master's partition table reaching a member or coordinator that is joining or leaving
     * ("Not Member!"), which the next table settles; a coordinator that left (a lite member's shutdown does not tell
     * the master, which finds out by failing to reconnect, a second later), whose successor may join from the same
     * address before that and get its heartbeats. A member that runs jobs and leaves is announced by
     * {@code scythe member} itself.
     */
    private static final List<Logger> QUIET = List.of(
            quiet("com.hazelcast.internal.partition.operation.PartitionStateOperation", "CallerNotMemberException"),
            quiet("com.hazelcast.internal.server.tcp.TcpServerConnectionErrorHandler", "Removing connection to"),
            quiet("com.hazelcast.internal.cluster.impl.ClusterJoinManager", "from an existing endpoint"),
            quiet("com.hazelcast.internal.cluster.impl.ClusterHeartbeatManager", "Local UUID mismatch"));

    private static Logger quiet(String logger, String message) {
        Logger l = Logger.getLogger(logger);
        l.setFilter(r -> r.getMessage() == null || !r.getMessage().contains(message));
        return l;
    }

    /** Hazelcast's log at WARNING and above, less {@link #QUIET}; called before any member or coordinator starts. */
    public static void quietLogging() {
        HAZELCAST.setLevel(Level.WARNING);
    }
}
