package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scythe.Scythe;
import dev.scythe.cli.MainTest.Result;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/**
 * A resource limit ends a job with its own status, 122, never 124 (timeout), 125 (scythe failed) or 143 (scythe got
 * SIGTERM); one stderr line names the limit; the JSON keeps the leader's own exit code or signal.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LimitsTest extends LeakCheckedTest {

    @Test
    void aForkLoopUnderAProcessLimitExits122AndKeepsTheLeadersStatus() {
        assumeTrue(Scythe.capabilities().contains("cgroup_pids"), "needs the pids controller (cgroup_pids)");
        // Regression: exited 125 with "signal":0 and the leader's exit code lost.
        String loop = "i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); done; wait";
        Result r = MainTest.cli("run", "--json", "--process-limit", "8", "--", "sh", "-c", loop);
        assertEquals(122, r.status(), r.out() + r.err());
        JsonNode o = JsonSchemaTest.valid(r).get("outcome");
        assertEquals("processes", o.get("resource").asString());
        assertTrue(o.get("exit_code").isInt() || o.get("signal").isInt(), "the leader's own end is kept: " + o);
        Result text = MainTest.cli("run", "--process-limit", "8", "--", "sh", "-c", loop);
        assertEquals(122, text.status());
        assertTrue(text.err().contains("scythe: process limit of 8 reached; job killed"), text.err());
        // A recursive bomb (regression: exited 143, "scythe got SIGTERM").
        // The leader stays (sleep, not wait: the bomb's first generation may be gone before it reached the limit, and
        // a job that ended on its own without reaching the limit is rightly no limit kill).
        Result bomb = MainTest.cli("run", "--process-limit", "16", "--", "sh", "-c", "b() { b | b & }; b; sleep 20");
        assertEquals(122, bomb.status(), bomb.err());
    }

    @Test
    void aMemoryKillExits122WhicheverProcessWasTheHog() {
        assumeTrue(Scythe.capabilities().contains("cgroup_memory"), "needs the memory controller (cgroup_memory)");
        // Regression: 137 or 143 depending on which process hogged.
        // sort of /dev/zero reads one endless line: memory grows until the limit. First the leader is the hog,
        // then a child is and the leader is a shell waiting for it.
        for (String[] cmd : new String[][] {{"sort", "/dev/zero"}, {"sh", "-c", "sort /dev/zero; exit 3"}}) {
            String[] args = new String[5 + cmd.length];
            System.arraycopy(new String[] {"run", "--json", "--memory-limit", "64M", "--"}, 0, args, 0, 5);
            System.arraycopy(cmd, 0, args, 5, cmd.length);
            Result r = MainTest.cli(args);
            assertEquals(122, r.status(), r.out() + r.err());
            assertEquals("memory", JsonSchemaTest.valid(r).get("outcome").get("resource").asString());
        }
        Result text = MainTest.cli("run", "--memory-limit", "64M", "--", "sort", "/dev/zero");
        assertTrue(text.err().contains("scythe: memory limit of 64 MiB exceeded; job killed"), text.err());
    }

    @Test
    void aCpuLimitExits122() {
        // Regression: exited 143 where the help said 137.
        Result r = MainTest.cli("run", "--cpu-limit", "100ms", "--", "sh", "-c", "while :; do :; done");
        assertEquals(122, r.status(), r.err());
        assertTrue(r.err().contains("scythe: CPU time limit of 100.000 ms exceeded; job killed"), r.err());
    }

    @Test
    void raceTakesTheJobOptions() {
        assumeTrue(Scythe.capabilities().contains("cgroup_pids"), "needs the pids controller (cgroup_pids)");
        // Regression: race lacked --containment and the limit options that run has.
        Result r = MainTest.cli("race", "--json", "--containment", "cgroup", "--process-limit", "4", "--", "sh", "-c",
                "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait", ":::", "sh", "-c", "sleep 0.5; exit 0");
        assertEquals(0, r.status(), r.out() + r.err());
        JsonNode first = JsonSchemaTest.valid(r).get("entrants").get(0).get("outcome");
        assertEquals("resource_exceeded", first.get("kind").asString(), first.toString());
        assertEquals("processes", first.get("resource").asString());
    }
}
