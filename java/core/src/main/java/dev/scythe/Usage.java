package dev.scythe;

import java.time.Duration;

/**
 * What a job cost: wall time from spawn to the leader's exit, CPU time of the leader and of the descendants it
 * reaped, and the largest resident set among them, as the kernel's rusage reports it. Linux counts the spawning
 * process's own resident set at exec into {@code maxRssKib} (the child starts on the parent's address space), so
 * the figure is a real peak only above the supervisor's RSS; see docs/decisions/0007.
 */
public record Usage(Duration wall, Duration userCpu, Duration systemCpu, long maxRssKib) {
    public static final Usage NONE = new Usage(Duration.ZERO, Duration.ZERO, Duration.ZERO, 0);

    /** User plus system CPU time. */
    public Duration cpu() {
        return userCpu.plus(systemCpu);
    }
}
