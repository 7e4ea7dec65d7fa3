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
     * One entrant's part. {@code succeeded} says whether its own result met the success criterion (a success that lost
     * the claim to an earlier one is a success, not the winner); {@code run} is empty for an entrant the race never
     * had to start (or that could not start).
     */
    public record Entry(int index, String name, Outcome outcome, boolean succeeded, Optional<Run> run) {
        public Entry {
            java.util.Objects.requireNonNull(run, "run");
        }

        /** True when the entrant's process ran. */
        public boolean started() {
            return run.isPresent();
        }

        /** Its captured stdout ({@link Output#EMPTY} if it never ran or stdout was not captured). */
        public Output stdout() {
            return run.map(Run::stdout).orElse(Output.EMPTY);
        }

        /** Its captured stderr ({@link Output#EMPTY} if it never ran or stderr was not captured). */
        public Output stderr() {
            return run.map(Run::stderr).orElse(Output.EMPTY);
        }
    }

    /**
     * An entrant's process: the leader's pid (its session id), and when it was spawned, seen to exit and reaped, on
     * the {@link System#nanoTime()} clock.
     */
    public record Run(int pid, long startNanos, long exitNanos, long reapedNanos, Output stdout, Output stderr) {}

    public RaceResult {
        entrants = List.copyOf(entrants);
    }

    /** True when someone won. */
    public boolean won() {
        return winner.isPresent();
    }
}
