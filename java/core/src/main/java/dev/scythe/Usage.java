package dev.scythe;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * What a job cost: wall time from just before its spawn to the leader's exit (as time(1) counts it: the exec is
 * included), CPU time of the leader and of the descendants it reaped (of its whole cgroup at the cgroup level), and
 * its peak memory.
 *
 * <p>The peak is the job's own, from its cgroup's accounting ({@code memory.peak}, or a v1 memory leaf's
 * {@code max_usage_in_bytes}); where the job has no such accounting (the session level), it is unknown: -1 in
 * {@code maxRssKib}, empty in {@link #maxRss()}. The kernel's rusage figure is never used, since for a child spawned
 * from the JVM it counts the JVM's own resident set at exec (decision 0007).
 */
public record Usage(Duration wall, Duration userCpu, Duration systemCpu, long maxRssKib) {
    public static final Usage NONE = new Usage(Duration.ZERO, Duration.ZERO, Duration.ZERO, -1);

    /** User plus system CPU time. */
    public Duration cpu() {
        return userCpu.plus(systemCpu);
    }

    /** The job's peak memory in KiB, if known. */
    public OptionalLong maxRss() {
        return maxRssKib < 0 ? OptionalLong.empty() : OptionalLong.of(maxRssKib);
    }
}
