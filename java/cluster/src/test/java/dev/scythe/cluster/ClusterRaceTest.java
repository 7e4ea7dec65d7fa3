package dev.scythe.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.Outcome;
import dev.scythe.RaceResult;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
                    new ClusterRace.Entrant("quick-a", sh("sleep 0.3; echo done"), a),
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
                Leaks.assertGone(rr.entrants().get(i).run().orElseThrow().pid(), "preempted " + i);
            }
            assertTrue(secs < 20, "the race took " + secs + " s: the losers were not preempted");
            assertTrue(rr.preemptionNanos().isPresent());
            assertEquals(0, t.members.get(0).running() + t.members.get(1).running());
        }
        Leaks.assertNoneSince(before);
    }
}
