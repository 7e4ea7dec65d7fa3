package dev.scythe.cluster;

import com.hazelcast.cluster.Member;
import dev.scythe.Outcome;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A first-success race whose entrants run on members of a cluster, each under its member's own supervisor. The
 * claim is a compare-and-set in the cluster's marks map, made on the member where the success happened; the
 * winner's member preempts the entrants beside it natively and broadcasts the win, and every other member
 * preempts its entrants of the race. An entrant that arrives after the win finds the mark and never starts.
 * A member that leaves ends its entrants {@link Outcome.MemberLost}; the race goes on with the others.
 *
 * <p>The result is a {@link RaceResult}, as for a local race, with each entrant's member beside it.
 */
public final class ClusterRace {
    /** An entrant; {@code member} ({@code host:port}) null means the member with the most free slots. */
    public record Entrant(String name, RemoteJob job, String member) {
        public Entrant {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(job, "job");
        }
    }

    /** The race's result and the member each entrant ran on, in entrant order. */
    public record Result(RaceResult race, List<String> members) {
        public Result {
            members = List.copyOf(members);
        }
    }

    /** How long a member may take to report a preempted or cancelled entrant before its thread is interrupted. */
    static final Duration LAGGARD = Duration.ofSeconds(2);

    private final List<Entrant> entrants;
    private final Duration timeout;

    private ClusterRace(List<Entrant> entrants, Duration timeout) {
        if (entrants.isEmpty()) {
            throw new IllegalArgumentException("a race needs at least one entrant");
        }
        this.entrants = List.copyOf(entrants);
        this.timeout = timeout;
    }

    public static ClusterRace of(List<Entrant> entrants, Duration timeout) {
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("race timeout must be positive, got " + timeout);
        }
        return new ClusterRace(entrants, timeout);
    }

    public List<Entrant> entrants() {
        return entrants;
    }

    /** Runs the race on {@code farm}'s members; interrupting the caller cancels it on every member. */
    public Result run(Farm farm) throws InterruptedException {
        String group = "race-" + UUID.randomUUID();
        long t0 = System.nanoTime();
        List<Member> placed = new ArrayList<>(); // each entrant takes a slot of its member while the race runs
        List<Farm.Submitted<RemoteResult>> sent = new ArrayList<>();
        CompletableFuture<Integer> won = new CompletableFuture<>();
        try {
            for (Entrant e : entrants) {
                placed.add(e.member() == null ? farm.place(1) : farm.take(farm.member(e.member()).orElseThrow(() ->
                        new IllegalArgumentException("entrant '" + e.name() + "': no member " + e.member()
                                + " runs jobs in this cluster; members: " + farm.addresses())), 1));
            }
            for (int i = 0; i < entrants.size(); i++) {
                RemoteJob job = limited(entrants.get(i).job());
                Farm.Submitted<RemoteResult> s = farm.submit(group, i, job, placed.get(i));
                int index = i;
                s.result().thenAccept(r -> {
                    if (r.claimed()) {
                        won.complete(index);
                    }
                });
                sent.add(s);
            }
            CompletableFuture<Void> all = CompletableFuture.allOf(sent.stream().map(Farm.Submitted::result)
                    .toArray(CompletableFuture[]::new));
            boolean cancelled = false;
            try {
                CompletableFuture.anyOf(all, won).get(timeout == null ? Long.MAX_VALUE : timeout.toNanos()
                        + LAGGARD.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException late) {
                cancelled = true; // the entrants' own timeouts should have ended them: some member is late
            } catch (InterruptedException e) {
                farm.cancel(group);
                sent.forEach(Farm.Submitted::interrupt);
                throw e;
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("race " + group + " failed", e.getCause());
            }
            if (won.isDone() || cancelled) {
                // The winner's member broadcast the win (a deadline that passed is broadcast here); the task cancel
                // (an interrupt on the member) is for any entrant still unreported after LAGGARD.
                if (cancelled) {
                    farm.cancel(group);
                }
                try {
                    all.get(LAGGARD.toNanos(), TimeUnit.NANOSECONDS);
                } catch (TimeoutException | java.util.concurrent.ExecutionException laggards) {
                    sent.forEach(s -> {
                        if (!s.result().isDone()) {
                            s.interrupt();
                        }
                    });
                }
            }
            List<RemoteResult> results = new ArrayList<>();
            for (Farm.Submitted<RemoteResult> s : sent) {
                results.add(s.result().join());
            }
            return result(results, Duration.ofNanos(System.nanoTime() - t0), cancelled);
        } finally {
            placed.forEach(m -> farm.release(m, 1));
        }
    }

    private RemoteJob limited(RemoteJob job) {
        if (timeout == null || (job.timeoutMillis() > 0 && job.timeoutMillis() <= timeout.toMillis())) {
            return job;
        }
        return new RemoteJob(job.argv(), job.files(), timeout.toMillis(), job.graceMillis(), job.keep(),
                job.success());
    }

    private Result result(List<RemoteResult> results, Duration wall, boolean late) {
        List<RaceResult.Entry> entries = new ArrayList<>();
        int winner = -1;
        for (int i = 0; i < results.size(); i++) {
            RemoteResult r = results.get(i);
            if (r.claimed()) {
                winner = i;
            }
        }
        for (int i = 0; i < results.size(); i++) {
            RemoteResult r = results.get(i);
            Outcome o = r.toOutcome();
            if (winner >= 0 && o instanceof Outcome.Cancelled c && c.signal() == 0 && !r.started()) {
                o = new Outcome.Preempted(winner, -1, 0, Usage.NONE); // interrupted before it reported: it lost
            }
            entries.add(new RaceResult.Entry(i, entrants.get(i).name(), o, r.succeeded(), r.run()));
        }
        Optional<RaceResult.Entry> won = winner >= 0 ? Optional.of(entries.get(winner)) : Optional.empty();
        OptionalLong latency = OptionalLong.empty();
        if (won.isPresent() && won.get().run().isPresent()) {
            String host = host(results.get(winner).member());
            long last = 0;
            for (int i = 0; i < entries.size(); i++) {
                RaceResult.Entry e = entries.get(i);
                // nanoTime is one clock on one machine only: latency counts losers on the winner's machine
                if (e.outcome() instanceof Outcome.Preempted && e.run().isPresent()
                        && host(results.get(i).member()).equals(host)) {
                    last = Math.max(last, e.run().get().reapedNanos());
                }
            }
            if (last > 0) {
                latency = OptionalLong.of(Math.max(0, last - won.get().run().get().exitNanos()));
            }
        }
        boolean timedOut = won.isEmpty() && (late || entries.stream().anyMatch(e -> e.outcome() instanceof Outcome.TimedOut));
        List<String> members = results.stream().map(RemoteResult::member).toList();
        return new Result(new RaceResult(Race.Mode.FIRST_SUCCESS, won, entries, wall, timedOut, false, latency),
                members);
    }

    private static String host(String member) {
        return member.substring(0, member.lastIndexOf(':'));
    }
}
