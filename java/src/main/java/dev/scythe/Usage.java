package dev.scythe;

import java.time.Duration;

/**
 * What a job cost: wall time from spawn to the leader's exit, CPU time of the leader and of the descendants it
 * reaped, and the largest resident set among them.
 */
public record Usage(Duration wall, Duration userCpu, Duration systemCpu, long maxRssKib) {
    public static final Usage NONE = new Usage(Duration.ZERO, Duration.ZERO, Duration.ZERO, 0);

    /** User plus system CPU time. */
    public Duration cpu() {
        return userCpu.plus(systemCpu);
    }
}
