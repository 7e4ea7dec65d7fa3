package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Soundness of FIRST_SUCCESS races as properties over generated portfolios of real processes. Entrants finish in
 * slots 150 ms apart, so "first" is unambiguous on a loaded machine.
 */
class RacePropertiesTest {
    private static final double SLOT_SECONDS = 0.15;
    private static Supervisor supervisor;
    private static Leaks.Snapshot baseline;

    /** An entrant that finishes in time slot {@code slot} with success or failure; or hangs when slot < 0. */
    record Plan(int slot, boolean success) {
        String script() {
            return slot < 0 ? "sleep 300 & sleep 300" : "sleep " + slot * SLOT_SECONDS + "; exit " + (success ? 0 : 1);
        }
    }

    @BeforeContainer
    static void open() {
        baseline = Leaks.take();
        supervisor = new Supervisor();
    }

    @AfterContainer
    static void close() {
        supervisor.close();
        Leaks.assertNoneSince(baseline);
    }

    @Provide
    Arbitrary<List<Plan>> portfolios() {
        // 2..5 entrants in distinct slots 0..5, each succeeding or failing.
        return Arbitraries.integers().between(0, 5).set().ofMinSize(2).ofMaxSize(5).flatMap(slots -> {
            List<Integer> order = new ArrayList<>(slots);
            return Arbitraries.of(true, false).list().ofSize(order.size()).flatMap(oks -> Arbitraries.shuffle(
                    combine(order, oks)));
        });
    }

    private static List<Plan> combine(List<Integer> slots, List<Boolean> oks) {
        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < slots.size(); i++) {
            plans.add(new Plan(slots.get(i), oks.get(i)));
        }
        return plans;
    }

    static RaceResult race(List<Plan> plans) throws InterruptedException {
        Race.Builder b = Race.builder();
        for (int i = 0; i < plans.size(); i++) {
            b.entrant("e" + i, ProcessSpec.of("sh", "-c", plans.get(i).script()));
        }
        RaceResult r = b.build().run(supervisor);
        for (RaceResult.Entry e : r.entrants()) {
            if (e.started()) {
                Leaks.assertSessionGone(e.run().orElseThrow().pid());
            }
        }
        return r;
    }

    /** The earliest slot among successes; that entrant must win. */
    static Optional<Integer> expectedWinner(List<Plan> plans) {
        int best = -1;
        for (int i = 0; i < plans.size(); i++) {
            Plan p = plans.get(i);
            if (p.success() && p.slot() >= 0 && (best < 0 || p.slot() < plans.get(best).slot())) {
                best = i;
            }
        }
        return best < 0 ? Optional.empty() : Optional.of(best);
    }

    @Property(tries = 12)
    void theVerdictIsTheFirstSuccessInClaimOrder(@ForAll("portfolios") List<Plan> plans) throws Exception {
        RaceResult r = race(plans);
        assertEquals(expectedWinner(plans), r.winner().map(RaceResult.Entry::index), plans.toString());
        for (RaceResult.Entry e : r.entrants()) {
            if (e.outcome() instanceof Outcome.Preempted p) {
                assertFalse(r.winner().map(w -> w.index() == e.index()).orElse(false), "a preempted winner");
                assertEquals(r.winner().orElseThrow().index(), p.winner());
                assertTrue(plans.get(e.index()).slot() > plans.get(p.winner()).slot(), "only later ones preempted");
            } else if (r.winner().map(w -> w.index() != e.index()).orElse(true)) {
                assertInstanceOf(Outcome.Failure.class, e.outcome(), "finished before the winner: " + e);
            }
        }
    }

    @Property(tries = 8)
    void theVerdictDoesNotDependOnWhatLosersWouldHaveDone(@ForAll("portfolios") List<Plan> plans) throws Exception {
        Optional<Integer> winner = expectedWinner(plans);
        RaceResult first = race(plans);
        // Rewrite the future of everyone who would finish after the winner: flip their verdicts, or make them hang.
        List<Plan> flipped = new ArrayList<>(), hanging = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            Plan p = plans.get(i);
            boolean later = winner.isPresent() && p.slot() > plans.get(winner.get()).slot();
            flipped.add(later ? new Plan(p.slot(), !p.success()) : p);
            hanging.add(later ? new Plan(-1, false) : p);
        }
        Optional<Integer> v = first.winner().map(RaceResult.Entry::index);
        assertEquals(v, race(flipped).winner().map(RaceResult.Entry::index), "flipped losers: " + flipped);
        assertEquals(v, race(hanging).winner().map(RaceResult.Entry::index), "hanging losers: " + hanging);
    }

    @Property(tries = 60)
    void exactlyOneWinnerWhenAllSucceedAtOnce(@ForAll @IntRange(min = 2, max = 8) int n,
                                               @ForAll boolean decidedInJava) throws Exception {
        Race.Builder b = Race.builder();
        for (int i = 0; i < n; i++) {
            b.entrant("e" + i, ProcessSpec.of("sh", "-c", "echo unsat"));
        }
        if (decidedInJava) {
            b.success(SuccessCriterion.stdoutMatches("^unsat$"));
        }
        Race race = b.build();
        for (int round = 0; round < 10; round++) { // 14 generated cases (n x path), 10 races each
            assertExactlyOneWinner(race.run(supervisor));
        }
    }

    private static void assertExactlyOneWinner(RaceResult r) {
        RaceResult.Entry w = r.winner().orElseThrow();
        assertTrue(w.succeeded());
        long winners = r.entrants().stream().filter(e -> e.index() == w.index()).count();
        assertEquals(1, winners);
        for (RaceResult.Entry e : r.entrants()) {
            if (e.index() != w.index()) {
                assertTrue(e.outcome() instanceof Outcome.Success || e.outcome() instanceof Outcome.Preempted,
                        "a loser either finished (and lost the claim) or was preempted: " + e);
            }
            if (e.started()) {
                Leaks.assertSessionGone(e.run().orElseThrow().pid());
            }
        }
    }

    @Property(tries = 10)
    void aRaceCancelledFromOutsideHasNoWinnerAndLeavesNothing(@ForAll @IntRange(min = 1, max = 5) int n,
                                                               @ForAll @IntRange(min = 0, max = 150) int afterMs)
            throws Exception {
        CancelToken token = CancelToken.create();
        Race.Builder b = Race.builder().token(token).maxConcurrent(3);
        for (int i = 0; i < n; i++) {
            b.entrant("e" + i, ProcessSpec.of("sh", "-c", i % 2 == 0 ? "sleep 300 & sleep 300" : "sleep 300"));
        }
        var future = b.build().start(supervisor);
        Thread.sleep(afterMs);
        token.cancel(CancelToken.Reason.of(42));
        RaceResult r = future.get(30, TimeUnit.SECONDS);
        assertTrue(r.cancelled());
        assertTrue(r.winner().isEmpty());
        for (RaceResult.Entry e : r.entrants()) {
            assertEquals(CancelToken.Reason.of(42), assertInstanceOf(Outcome.Cancelled.class, e.outcome()).reason());
            if (e.started()) {
                Leaks.assertSessionGone(e.run().orElseThrow().pid());
            }
        }
        assertEquals(0, supervisor.liveJobs());
    }
}
