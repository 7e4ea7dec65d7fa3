package dev.scythe;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How a race ended: the winner, if any, and every entrant's outcome in the order they were given.
 *
 * @param timedOut           the race's own deadline passed before anyone won
 * @param cancelled          the caller cancelled the race (through its token) before anyone won
 * @param preemptionNanos    from the winner's exit to the last preempted loser's reap, if anyone was preempted
 */
public record RaceResult(Race.Mode mode, Optional<Entry> winner, List<Entry> entrants, Duration wall, boolean timedOut,
                         boolean cancelled, OptionalLong preemptionNanos) {

    /**
     * One entrant's part. {@code succeeded} says whether its own result met the success criterion (a success
     * that lost the claim to an earlier one is a success, not the winner); {@code started} is false for entrants
     * the race never had to start. {@code pid} is the leader's pid (its session id), -1 when not started. Times are
     * on the {@link System#nanoTime()} clock, 0 when not started.
     */
    public record Entry(int index, String name, Outcome outcome, boolean succeeded, boolean started, int pid,
                        long startNanos, long exitNanos, long reapedNanos, Output stdout, Output stderr) {}

    public RaceResult {
        entrants = List.copyOf(entrants);
    }

    /** True when someone won. */
    public boolean won() {
        return winner.isPresent();
    }
}
