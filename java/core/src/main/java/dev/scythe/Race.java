package dev.scythe;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A portfolio race: several entrants (each a {@link ProcessSpec}) on one goal.
 *
 * <ul>
 *   <li>{@link Mode#FIRST_SUCCESS}: all start at once (or {@code maxConcurrent} at a time); the first success in
 *       claim order wins by compare-and-set on the race's token, which preempts every other running entrant, its
 *       whole session, at once. With exit-code success the claim is made in the native loop itself.</li>
 *   <li>{@link Mode#BEST_OF}: all run to the end; the best success by the caller's comparator wins (default: the
 *       shortest wall time).</li>
 *   <li>{@link Mode#SEQUENTIAL}: one after another until one succeeds.</li>
 * </ul>
 *
 * A preempted loser ends {@link Outcome.Preempted}, never {@link Outcome.Failure} nor {@link Outcome.Cancelled};
 * cancelling the caller's token ends every entrant {@link Outcome.Cancelled}. The result arrives once every
 * entrant was reaped. See docs/races.md for the semantics and the soundness argument.
 */
public final class Race {
    public enum Mode { FIRST_SUCCESS, BEST_OF, SEQUENTIAL }

    /** A named entrant; {@code success} null means the race's criterion. */
    public record Entrant(String name, ProcessSpec spec, SuccessCriterion success) {
        public Entrant {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(spec, "spec");
        }
    }

    /** Default comparator for {@link Mode#BEST_OF}: the shortest wall time. */
    public static final Comparator<RaceResult.Entry> FASTEST =
            Comparator.comparing(e -> e.outcome().usage().wall());

    private final Mode mode;
    private final List<Entrant> entrants;
    private final SuccessCriterion success;
    private final Duration timeout;
    private final int maxConcurrent;
    private final CancelToken token;
    private final Comparator<RaceResult.Entry> best;

    private Race(Builder b) {
        mode = b.mode;
        entrants = List.copyOf(b.entrants);
        success = b.success;
        timeout = b.timeout;
        maxConcurrent = mode == Mode.SEQUENTIAL ? 1 : b.maxConcurrent;
        token = b.token;
        best = b.best;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Mode mode() {
        return mode;
    }

    public List<Entrant> entrants() {
        return entrants;
    }

    /** Starts the race; the future completes (on a loop thread) once every entrant is done. */
    public CompletableFuture<RaceResult> start(Supervisor supervisor) {
        return new Run(supervisor).begin();
    }

    /** Runs the race to the end. */
    public RaceResult run(Supervisor supervisor) throws InterruptedException {
        try {
            return start(supervisor).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("race failed", e.getCause());
        }
    }

    SuccessCriterion criterion(Entrant e) {
        return e.success() != null ? e.success() : success;
    }

    /**
     * One execution of the race. State is guarded by this object's monitor, which is never held while spawning,
     * so the loop thread (which calls {@link #finish}) is never kept waiting behind a spawn.
     */
    private final class Run {
        private final Supervisor supervisor;
        private final CancelToken raceToken;
        private final long t0 = System.nanoTime();
        private final long deadline;
        private final RaceResult.Entry[] results = new RaceResult.Entry[entrants.size()];
        private final CompletableFuture<RaceResult> done = new CompletableFuture<>();
        private int next, running, finished, winner = -1;
        private boolean completed;

        Run(Supervisor supervisor) {
            this.supervisor = supervisor;
            this.raceToken = token != null ? token.child() : CancelToken.create();
            this.deadline = timeout == null ? 0 : t0 + timeout.toNanos();
        }

        CompletableFuture<RaceResult> begin() {
            fill();
            return done;
        }

        /** Starts entrants while there is room, settles the ones that will never start, completes at the end. */
        private void fill() {
            List<Integer> launch = new ArrayList<>();
            RaceResult result = null;
            synchronized (this) {
                while (next < entrants.size() && !stopped() && running < maxConcurrent) {
                    launch.add(next++);
                    running++;
                }
                if (stopped()) {
                    while (next < entrants.size()) {
                        int i = next++;
                        results[i] = new RaceResult.Entry(i, entrants.get(i).name(), notStarted(), false,
                                java.util.Optional.empty());
                        finished++;
                    }
                }
                if (finished == entrants.size() && !completed) {
                    completed = true;
                    result = result();
                }
            }
            if (!launch.isEmpty() && Thread.currentThread() == supervisor.loopThread()) {
                // A refill after an entrant's exit: its spawns (a millisecond each) go to a thread of their own, so
                // the loop does not hold back every other job's events for them.
                Thread.ofPlatform().daemon().name("scythe-race-refill").start(() -> launch.forEach(this::launch));
            } else {
                launch.forEach(this::launch);
            }
            if (result != null) {
                done.complete(result);
            }
        }

        private boolean stopped() {
            return winner >= 0 || raceToken.isCancelled() || (deadline != 0 && System.nanoTime() >= deadline);
        }

        private Outcome notStarted() {
            if (winner >= 0) {
                return new Outcome.Preempted(winner, -1, 0, Usage.NONE);
            } else if (raceToken.isCancelled()) {
                return Events.cancelled(raceToken, 0, Usage.NONE);
            }
            return new Outcome.TimedOut(-1, 0, Usage.NONE);
        }

        private void launch(int i) {
            Entrant e = entrants.get(i);
            ProcessSpec.Builder b = e.spec().toBuilder().token(raceToken);
            if (deadline != 0) {
                Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
                b.timeout(e.spec().timeout() == null || e.spec().timeout().compareTo(left) > 0 ? left
                        : e.spec().timeout());
            }
            if (mode != Mode.BEST_OF && criterion(e) instanceof SuccessCriterion.ExitCodes codes) {
                b.claimOnExit(i, codes.bits()); // decided in the native loop: no Java on the preemption path
            }
            Job job;
            try {
                job = supervisor.start(b.build());
            } catch (RuntimeException closed) { // the supervisor closed under the race: this entrant cannot start
                finish(i, null, new Outcome.SpawnFailed(0, "cannot start " + e.name() + ": " + closed.getMessage()));
                return;
            }
            job.onExit().whenComplete((outcome, failure) -> finish(i, job, outcome));
        }

        private void finish(int i, Job job, Outcome outcome) {
            Entrant e = entrants.get(i);
            Output out = job == null ? Output.EMPTY : captured(job, e.spec().stdout(), true);
            Output err = job == null ? Output.EMPTY : captured(job, e.spec().stderr(), false);
            boolean ok = criterion(e).test(new SuccessCriterion.Finished(outcome, out, err));
            synchronized (this) {
                running--;
                if (ok && winner < 0 && mode != Mode.BEST_OF) {
                    boolean claimedNatively = criterion(e) instanceof SuccessCriterion.ExitCodes;
                    if (claimedNatively ? raceToken.winner().orElse(-1) == i : raceToken.claim(i)) {
                        winner = i;
                    }
                }
                results[i] = new RaceResult.Entry(i, e.name(), outcome, ok, job == null || job.pid() <= 0
                        ? java.util.Optional.empty()
                        : java.util.Optional.of(new RaceResult.Run(job.pid(), job.startNanos(), job.exitNanos(),
                                job.reapedNanos(), out, err)));
                finished++;
            }
            fill();
        }

        private static Output captured(Job job, Redirect r, boolean stdout) {
            if (!(r instanceof Redirect.Capture)) {
                return Output.EMPTY;
            }
            return stdout ? job.stdout() : job.stderr();
        }

        private RaceResult result() {
            List<RaceResult.Entry> all = List.of(results);
            Optional<RaceResult.Entry> won;
            if (mode == Mode.BEST_OF) {
                won = all.stream().filter(RaceResult.Entry::succeeded).min(best);
            } else {
                won = winner >= 0 ? Optional.of(results[winner]) : Optional.empty();
            }
            OptionalLong latency = OptionalLong.empty();
            if (won.isPresent() && won.get().run().isPresent()) {
                long last = all.stream().filter(x -> x.outcome() instanceof Outcome.Preempted)
                        .flatMap(x -> x.run().stream()).mapToLong(RaceResult.Run::reapedNanos).max().orElse(0);
                if (last > 0) {
                    latency = OptionalLong.of(Math.max(0, last - won.get().run().get().exitNanos()));
                }
            }
            boolean cancelled = won.isEmpty() && raceToken.isCancelled()
                    && !raceToken.reason().orElseThrow().equals(CancelToken.Reason.PREEMPTED);
            boolean timedOut = won.isEmpty() && !cancelled && deadline != 0 && System.nanoTime() >= deadline;
            return new RaceResult(mode, won, all, Duration.ofNanos(System.nanoTime() - t0), timedOut, cancelled,
                    latency);
        }
    }

    /** Builds a {@link Race}. */
    public static final class Builder {
        private Mode mode = Mode.FIRST_SUCCESS;
        private final List<Entrant> entrants = new ArrayList<>();
        private SuccessCriterion success = SuccessCriterion.exitZero();
        private Duration timeout;
        private int maxConcurrent = Integer.MAX_VALUE;
        private CancelToken token;
        private Comparator<RaceResult.Entry> best = FASTEST;

        private Builder() {}

        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Builder entrant(String name, ProcessSpec spec) {
            return entrant(name, spec, null);
        }

        /** An entrant with its own success criterion. */
        public Builder entrant(String name, ProcessSpec spec, SuccessCriterion success) {
            if (spec.token() != null) {
                throw new IllegalArgumentException("entrant '" + name + "' has a token of its own; give the race a "
                        + "token instead (entrants run under a child of it)");
            }
            entrants.add(new Entrant(name, spec, success));
            return this;
        }

        /** The race's success criterion (default: exit status 0). */
        public Builder success(SuccessCriterion success) {
            this.success = Objects.requireNonNull(success, "success");
            return this;
        }

        /** A limit for the whole race; entrants get what is left of it as their own deadline. */
        public Builder timeout(Duration timeout) {
            if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
                throw new IllegalArgumentException("race timeout must be positive, got " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** At most k entrants run at once; the rest wait their turn (SEQUENTIAL is always 1). */
        public Builder maxConcurrent(int k) {
            if (k < 1) {
                throw new IllegalArgumentException("maxConcurrent must be >= 1, got " + k);
            }
            this.maxConcurrent = k;
            return this;
        }

        /** Cancelling this token cancels the race: every entrant ends Cancelled, and nobody wins. */
        public Builder token(CancelToken token) {
            this.token = token;
            return this;
        }

        /** How BEST_OF ranks successes (smallest first wins). */
        public Builder best(Comparator<RaceResult.Entry> comparator) {
            this.best = Objects.requireNonNull(comparator, "comparator");
            return this;
        }

        public Race build() {
            if (entrants.isEmpty()) {
                throw new IllegalArgumentException("a race needs at least one entrant");
            }
            return new Race(this);
        }
    }
}
