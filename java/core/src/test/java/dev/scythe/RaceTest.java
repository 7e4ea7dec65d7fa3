package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Portfolio races against real processes; every test proves it leaked nothing. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RaceTest extends SupervisedTest {

    static void assertAllSessionsGone(RaceResult r) {
        for (RaceResult.Entry e : r.entrants()) {
            if (e.started()) {
                // the session id is the leader's pid; a started entrant's job had one
                Leaks.assertSessionGone(pidOf(e));
            }
        }
    }

    /** Recovers the leader pid from a started entrant (kept in its Job; the race records it through the times). */
    static long pidOf(RaceResult.Entry e) {
        return e.run().orElseThrow().pid();
    }

    @Test
    void losersAndTheirGrandchildrenArePreempted() throws Exception {
        Race race = Race.builder()
                .entrant("winner", ProcessSpec.of("sh", "-c", "sleep 0.3; echo unsat"))
                .entrant("loser-a", ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300"))
                .entrant("loser-b", ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300 & wait"))
                .build();
        RaceResult r = race.run(supervisor);
        assertEquals("winner", r.winner().orElseThrow().name());
        assertEquals("unsat\n", r.winner().get().stdout().text());
        for (RaceResult.Entry e : r.entrants().subList(1, 3)) {
            Outcome.Preempted p = assertInstanceOf(Outcome.Preempted.class, e.outcome(), e.toString());
            assertEquals(0, p.winner());
            assertTrue(e.run().orElseThrow().reapedNanos()
                    >= r.winner().get().run().orElseThrow().exitNanos());
        }
        assertTrue(r.preemptionNanos().isPresent());
        assertTrue(r.preemptionNanos().getAsLong() < 5_000_000_000L, "preemption took " + r.preemptionNanos());
        assertAllSessionsGone(r);
    }

    @Test
    void loserIgnoringTermDiesWithinTheGrace(@TempDir Path dir) throws Exception {
        Path ready = dir.resolve("ready");
        Duration grace = Duration.ofMillis(300);
        Race race = Race.builder()
                .entrant("winner", ProcessSpec.of("sh", "-c", "while [ ! -e " + ready + " ]; do sleep 0.01; done"))
                .entrant("stubborn", ProcessSpec.builder("sh", "-c", "trap '' TERM; sleep 300 & touch " + ready
                        + "; wait").grace(grace).build())
                .build();
        RaceResult r = race.run(supervisor);
        RaceResult.Entry stubborn = r.entrants().get(1);
        Outcome.Preempted p = assertInstanceOf(Outcome.Preempted.class, stubborn.outcome());
        assertEquals(9, p.signal(), "SIGKILL after the grace");
        long afterWin = stubborn.run().orElseThrow().reapedNanos()
                - r.winner().orElseThrow().run().orElseThrow().exitNanos();
        assertTrue(afterWin >= 250_000_000L && afterWin < 5_000_000_000L, "reaped " + afterWin / 1e6 + " ms after");
        assertAllSessionsGone(r);
    }

    @Test
    void aThousandRacesInARowLeakNothing() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        Race race = Race.builder()
                .entrant("fast", ProcessSpec.of("true"))
                .entrant("slow", ProcessSpec.of("sleep", "300"))
                .build();
        for (int i = 0; i < 1000; i++) {
            RaceResult r = race.run(supervisor);
            assertEquals(0, r.winner().orElseThrow().index());
            assertInstanceOf(Outcome.Preempted.class, r.entrants().get(1).outcome());
        }
        assertEquals(0, supervisor.liveJobs());
        Leaks.assertNoneSince(before);
    }

    @Test
    void aWinnerWithLargeOutputIsNotBlocked() throws Exception {
        RaceResult r = Race.builder()
                .entrant("chatty", ProcessSpec.of("sh", "-c", "head -c 20971520 /dev/zero; echo; echo unsat"))
                .entrant("sleeper", ProcessSpec.of("sleep", "300"))
                .success(SuccessCriterion.stdoutMatches("^unsat$"))
                .build().run(supervisor);
        RaceResult.Entry w = r.winner().orElseThrow();
        assertEquals("chatty", w.name());
        assertEquals(20971520 + 7, w.stdout().total());
        assertInstanceOf(Outcome.Preempted.class, r.entrants().get(1).outcome());
        assertAllSessionsGone(r);
    }

    @Test
    void outputMatchDecidesAndAFailureIsNotPreemption() throws Exception {
        RaceResult r = Race.builder()
                .entrant("sat-first", ProcessSpec.of("sh", "-c", "echo sat"))
                .entrant("crash", ProcessSpec.of("sh", "-c", "exit 2"))
                .entrant("unsat-later", ProcessSpec.of("sh", "-c", "sleep 0.2; echo '% SZS status Theorem'"))
                .entrant("slow", ProcessSpec.of("sleep", "300"))
                .success(SuccessCriterion.stdoutMatches("SZS status (Theorem|Unsatisfiable)"))
                .build().run(supervisor);
        assertEquals("unsat-later", r.winner().orElseThrow().name());
        assertInstanceOf(Outcome.Success.class, r.entrants().get(0).outcome());
        assertFalse(r.entrants().get(0).succeeded(), "exit 0 without the pattern is no success here");
        assertEquals(2, ((Outcome.Failure) r.entrants().get(1).outcome()).exitCode());
        assertInstanceOf(Outcome.Preempted.class, r.entrants().get(3).outcome());
        assertAllSessionsGone(r);
    }

    @Test
    void bestOfRunsAllAndPicksByTheComparator() throws Exception {
        RaceResult r = Race.builder().mode(Race.Mode.BEST_OF)
                .entrant("slow-ok", ProcessSpec.of("sh", "-c", "sleep 0.4; echo long proof of 7 steps"))
                .entrant("fast-ok", ProcessSpec.of("sh", "-c", "sleep 0.1; echo proof of 30 steps"))
                .entrant("fails", ProcessSpec.of("sh", "-c", "exit 1"))
                .build().run(supervisor);
        assertEquals("fast-ok", r.winner().orElseThrow().name(), "default: fastest");
        assertInstanceOf(Outcome.Success.class, r.entrants().get(0).outcome(), "BEST_OF preempts nobody");
        RaceResult smallest = Race.builder().mode(Race.Mode.BEST_OF)
                .entrant("short", ProcessSpec.of("sh", "-c", "sleep 0.2; echo 7"))
                .entrant("long", ProcessSpec.of("sh", "-c", "echo 30"))
                .best(java.util.Comparator.comparingInt(e -> Integer.parseInt(e.stdout().text().trim())))
                .build().run(supervisor);
        assertEquals("short", smallest.winner().orElseThrow().name(), "smallest proof");
    }

    @Test
    void sequentialStopsAtTheFirstSuccess() throws Exception {
        RaceResult r = Race.builder().mode(Race.Mode.SEQUENTIAL)
                .entrant("fails", ProcessSpec.of("sh", "-c", "exit 1"))
                .entrant("works", ProcessSpec.of("sh", "-c", "exit 0"))
                .entrant("never", ProcessSpec.of("sh", "-c", "exit 0"))
                .build().run(supervisor);
        assertEquals("works", r.winner().orElseThrow().name());
        RaceResult.Entry never = r.entrants().get(2);
        assertFalse(never.started());
        assertEquals(1, ((Outcome.Preempted) never.outcome()).winner());
        assertTrue(r.entrants().get(1).run().orElseThrow().startNanos()
                >= r.entrants().get(0).run().orElseThrow().reapedNanos(), "one after another");
    }

    @Test
    void atMostKRunAtOnce() throws Exception {
        Race.Builder b = Race.builder().maxConcurrent(2);
        for (int i = 0; i < 5; i++) {
            b.entrant("e" + i, ProcessSpec.of("sh", "-c", "sleep 0.1; exit 1"));
        }
        RaceResult r = b.build().run(supervisor);
        assertTrue(r.winner().isEmpty());
        for (RaceResult.Entry e : r.entrants()) {
            RaceResult.Run run = e.run().orElseThrow();
            long overlapping = r.entrants().stream().map(o -> o.run().orElseThrow())
                    .filter(o -> o.startNanos() <= run.startNanos() && o.reapedNanos() > run.startNanos()).count();
            assertTrue(overlapping <= 2, "entrants running when " + e.name() + " started: " + overlapping);
        }
    }

    @Test
    void raceTimeoutEndsEveryone() throws Exception {
        RaceResult r = Race.builder().timeout(Duration.ofMillis(300)).maxConcurrent(2)
                .entrant("a", ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300"))
                .entrant("b", ProcessSpec.of("sleep", "300"))
                .entrant("c", ProcessSpec.of("sleep", "300"))
                .build().run(supervisor);
        assertTrue(r.timedOut() && r.winner().isEmpty());
        for (RaceResult.Entry e : r.entrants()) {
            assertInstanceOf(Outcome.TimedOut.class, e.outcome(), e.toString());
        }
        assertFalse(r.entrants().get(2).started());
        assertTrue(r.wall().toMillis() < 10_000);
        assertAllSessionsGone(r);
    }

    @Test
    void predicateSuccessAndPerEntrantCriteria() throws Exception {
        RaceResult r = Race.builder()
                .entrant("exit-10", ProcessSpec.of("sh", "-c", "exit 10"), SuccessCriterion.exitCodes(10, 20))
                .entrant("slow", ProcessSpec.of("sleep", "300"))
                .success(SuccessCriterion.matching(f -> false, "never"))
                .build().run(supervisor);
        assertEquals("exit-10", r.winner().orElseThrow().name(), "its own criterion: exit 10 or 20");
        RaceResult p = Race.builder()
                .entrant("slow", ProcessSpec.of("sleep", "300"))
                .entrant("quick", ProcessSpec.of("sh", "-c", "echo 42; exit 1"))
                .success(SuccessCriterion.matching(f -> f.stdout().text().contains("42"), "says 42"))
                .build().run(supervisor);
        assertEquals("quick", p.winner().orElseThrow().name());
        assertAllSessionsGone(p);
    }

    @Test
    void cancellingTheRaceTokenEndsItWithoutAWinner() throws Exception {
        CancelToken token = CancelToken.create();
        var future = Race.builder().token(token)
                .entrant("a", ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300"))
                .entrant("b", ProcessSpec.of("sleep", "300"))
                .build().start(supervisor);
        Thread.sleep(200);
        token.cancel(CancelToken.Reason.of(99));
        RaceResult r = future.get(30, TimeUnit.SECONDS);
        assertTrue(r.cancelled() && r.winner().isEmpty());
        for (RaceResult.Entry e : r.entrants()) {
            assertEquals(CancelToken.Reason.of(99), ((Outcome.Cancelled) e.outcome()).reason());
        }
        assertAllSessionsGone(r);
    }

    @Test
    void aRaceWhoseSupervisorClosesStillEnds() throws Exception {
        Supervisor other = new Supervisor();
        var future = Race.builder().mode(Race.Mode.SEQUENTIAL)
                .entrant("first", ProcessSpec.of("sleep", "300"))
                .entrant("second", ProcessSpec.of("true"))
                .build().start(other);
        Thread.sleep(200);
        other.close();
        RaceResult r = future.get(30, TimeUnit.SECONDS);
        assertTrue(r.winner().isEmpty());
        assertEquals(CancelToken.Reason.SHUTDOWN, ((Outcome.Cancelled) r.entrants().get(0).outcome()).reason());
        assertInstanceOf(Outcome.SpawnFailed.class, r.entrants().get(1).outcome(), "could not start: closed");
        assertAllSessionsGone(r);
    }

    @Test
    void badRacesAreRejectedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Race.builder().build());
        assertTrue(e.getMessage().contains("at least one entrant"));
        e = assertThrows(IllegalArgumentException.class, () -> Race.builder().maxConcurrent(0));
        assertTrue(e.getMessage().contains("maxConcurrent"));
        e = assertThrows(IllegalArgumentException.class, () -> SuccessCriterion.exitCodes(256));
        assertTrue(e.getMessage().contains("256"));
        e = assertThrows(IllegalArgumentException.class, () -> Race.builder()
                .entrant("x", ProcessSpec.builder("true").token(CancelToken.create()).build()));
        assertTrue(e.getMessage().contains("token"));
    }
}
