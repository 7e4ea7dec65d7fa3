package dev.scythe.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.Outcome;
import dev.scythe.RaceResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class ClusterRaceTest {

    private static RemoteJob sh(String script) {
        return RemoteJob.of(List.of("sh", "-c", script), 60_000);
    }

    @Test
    void theFirstSuccessOnOneMemberPreemptsTheLosersOnTheOther() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (TestFarm t = new TestFarm(2, 2)) {
            String a = t.members.get(0).address(), b = t.members.get(1).address();
            ClusterRace race = ClusterRace.of(List.of(
                    new ClusterRace.Entrant("slow-b", sh("sleep 60"), b),
                    new ClusterRace.Entrant("quick-a", sh("sleep 1; echo done"), a),
                    new ClusterRace.Entrant("slow-a", sh("sleep 60"), a),
                    new ClusterRace.Entrant("tree-b", sh("sleep 60 & sleep 60 & wait"), b)), null);
            long t0 = System.nanoTime();
            ClusterRace.Result r = race.run(t.farm);
            double secs = (System.nanoTime() - t0) / 1e9;
            RaceResult rr = r.race();
            assertEquals("quick-a", rr.winner().orElseThrow().name(), rr.toString());
            assertEquals(List.of(b, a, a, b), r.members());
            for (int i : new int[] {0, 2, 3}) {
                Outcome o = rr.entrants().get(i).outcome();
                Outcome.Preempted p = assertInstanceOf(Outcome.Preempted.class, o, rr.entrants().get(i).name());
                assertEquals(1, p.winner());
                // one that had not started when the win came never starts (the mark); one that had is gone
                int index = i;
                rr.entrants().get(i).run().ifPresent(run -> Leaks.assertGone(run.pid(), "preempted " + index));
            }
            assertTrue(secs < 20, "the race took " + secs + " s: the losers were not preempted");
            // the losers on B were preempted by B itself, on A's broadcast: B reported them, reaped well within the
            // coordinator's last resort (an interrupt after LAGGARD, which would report them without a run)
            long exit = rr.entrants().get(1).run().orElseThrow().exitNanos();
            long onB = java.util.stream.IntStream.of(0, 3).mapToObj(i -> rr.entrants().get(i).run())
                    .flatMap(java.util.Optional::stream).mapToLong(x -> x.reapedNanos() - exit).max().orElse(-1);
            assertTrue(onB >= 0 && onB < ClusterRace.LAGGARD.toNanos() / 2, "B's losers reaped " + onB / 1e6
                    + " ms after the winner's exit");
            assertTrue(rr.entrants().get(2).run().isEmpty() || rr.preemptionNanos().isPresent());
            assertEquals(0, t.members.get(0).running() + t.members.get(1).running());
            assertEquals(java.util.Map.of(a, 2, b, 2), t.farm.free(), "every slot the race took is back");
        }
        Leaks.assertNoneSince(before);
    }

    @Test
    void aCancelThatArrivesBeforeTheTaskStillWins() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (TestFarm t = new TestFarm(1, 2)) {
            String group = "race-" + UUID.randomUUID();
            t.farm.cancel(group); // the mark and the broadcast, before any task of the group exists
            var m = t.farm.member(t.members.get(0).address()).orElseThrow();
            RemoteResult r = t.farm.submit(group, 0, sh("sleep 60"), m).result().get();
            assertInstanceOf(Outcome.Cancelled.class, r.toOutcome());
            assertEquals(0, r.pid(), "a task that finds its group cancelled never starts its job");
            // and a winner's mark preempts a late entrant, naming the winner
            String won = "race-" + UUID.randomUUID();
            t.farm.instance().getMap(Farm.MARKS).put(won, 3);
            RemoteResult late = t.farm.submit(won, 1, sh("sleep 60"), m).result().get();
            assertEquals(3, assertInstanceOf(Outcome.Preempted.class, late.toOutcome()).winner());
        }
        Leaks.assertNoneSince(before);
    }

    @Test
    void theTaskCancelInterruptsTheMemberThreadAndKillsTheJobsTree(@TempDir Path dir) throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (TestFarm t = new TestFarm(1, 2)) {
            Path pid = dir.resolve("pid");
            var m = t.farm.member(t.members.get(0).address()).orElseThrow();
            var sent = t.farm.submit("job-" + UUID.randomUUID(), 0,
                    sh("sleep 60 & echo $! > " + pid + ".tmp; mv " + pid + ".tmp " + pid + "; wait"), m);
            TestFarm.await(() -> Files.exists(pid), 20);
            long child = Long.parseLong(Files.readString(pid).strip());
            sent.interrupt(); // Future.cancel(true) at the coordinator
            assertTrue(TestFarm.await(() -> t.members.get(0).running() == 0, 10),
                    "the interrupt became a token cancel on the member");
            Leaks.assertGone(child, "the job's grandchild");
        }
        Leaks.assertNoneSince(before);
    }

    @Test
    void aMemberThatDiesEndsItsEntrantsMemberLostAndTheRaceGoesOn() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (TestFarm t = new TestFarm(2, 2)) {
            FarmMember doomed = t.members.get(0);
            String a = doomed.address(), b = t.members.get(1).address();
            ClusterRace race = ClusterRace.of(List.of(
                    new ClusterRace.Entrant("on-doomed", sh("sleep 60"), a),
                    new ClusterRace.Entrant("survivor", sh("sleep 3; echo ok"), b)), null);
            Thread killer = Thread.ofPlatform().start(() -> {
                TestFarm.await(() -> doomed.running() > 0, 20);
                t.terminate(doomed);
            });
            ClusterRace.Result r = race.run(t.farm);
            killer.join();
            RaceResult rr = r.race();
            Outcome.MemberLost lost = assertInstanceOf(Outcome.MemberLost.class, rr.entrants().get(0).outcome());
            assertEquals(a, lost.member());
            assertEquals("survivor", rr.winner().orElseThrow().name());
        }
        Leaks.assertNoneSince(before);
    }

    @Test
    void tasksOfACoordinatorThatLeftAreCancelled() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (TestFarm t = new TestFarm(1, 2)) {
            FarmMember member = t.members.get(0);
            var m = t.farm.member(member.address()).orElseThrow();
            t.farm.submit("job-" + UUID.randomUUID(), 0, sh("sleep 60"), m);
            assertTrue(TestFarm.await(() -> member.running() == 1, 20), "the job started");
            t.farm.instance().getLifecycleService().terminate(); // the coordinator dies without a word
            assertTrue(TestFarm.await(() -> member.running() == 0, 30),
                    "the member cancelled the job of a coordinator that left");
        }
        Leaks.assertNoneSince(before);
    }

    @Test
    void argumentsThatNameLocalFilesTravelWithTheJob(@TempDir Path dir) throws Exception {
        Path goal = dir.resolve("goal.txt");
        Files.writeString(goal, "proved\n");
        RemoteJob job = RemoteJob.shipping(List.of("cat", goal.toString(), "-"), 10_000, RemoteJob.Success.EXIT_ZERO);
        assertEquals(List.of("cat", RemoteJob.DIR + "/0-goal.txt", "-"), job.argv());
        Leaks.Snapshot before = Leaks.take();
        try (TestFarm t = new TestFarm(1, 1)) {
            Files.delete(goal); // the member reads the shipped copy, not this file
            RemoteResult r = t.farm.run(job).get();
            assertEquals("proved\n", r.stdout());
            assertInstanceOf(Outcome.Success.class, r.toOutcome());
        }
        Leaks.assertNoneSince(before);
    }
}
