package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's exit statuses follow coreutils timeout; its errors name what was wrong. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MainTest extends LeakCheckedTest {
    record Result(int status, String out, String err) {}

    static Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void exitStatusesFollowTimeout(@TempDir Path dir) throws Exception {
        assertEquals(0, cli("run", "--", "true").status());
        assertEquals(3, cli("run", "--", "sh", "-c", "exit 3").status());
        assertEquals(124, cli("run", "--timeout", "200ms", "--", "sleep", "30").status());
        assertEquals(128 + 9, cli("run", "--", "sh", "-c", "kill -KILL $$").status());
        Result missing = cli("run", "--", "/nonexistent/prover");
        assertEquals(127, missing.status());
        assertTrue(missing.err().contains("No such file or directory"), missing.err());
        Path plain = Files.writeString(dir.resolve("not-executable"), "x");
        assertEquals(126, cli("run", "--", plain.toString()).status());
    }

    @Test
    void jsonReportsTheOutcome() {
        Result r = cli("run", "--json", "--", "sh", "-c", "echo proved; exit 0");
        assertEquals(0, r.status());
        String j = r.out().trim();
        assertTrue(j.startsWith("{") && j.endsWith("}"), j);
        for (String key : new String[] {"\"outcome\":{\"kind\":\"success\"", "\"exit_status\":0", "\"wall_ms\":",
            "\"user_cpu_ms\":", "\"max_rss_kib\":", "\"text\":\"proved\\n\""}) {
            assertTrue(j.contains(key), key + " in " + j);
        }
        Result t = cli("run", "--json", "--timeout", "100ms", "--", "sleep", "30");
        assertEquals(124, t.status());
        assertTrue(t.out().contains("\"kind\":\"timed_out\""), t.out());
    }

    @Test
    void badInputIsNamed() {
        Result r = cli("run", "--timeout", "5x", "--", "true");
        assertEquals(125, r.status());
        assertTrue(r.err().contains("--timeout: invalid duration '5x'"), r.err());
        assertTrue(cli("run", "--bogus", "--", "true").err().contains("unknown option '--bogus'"));
        assertTrue(cli("run", "--").err().contains("run needs a command"));
        assertTrue(cli("frobnicate").err().contains("unknown command 'frobnicate'"));
        assertEquals(0, cli("help").status());
        assertTrue(cli("help").out().contains("Commands:"));
        assertTrue(cli("help", "run").out().startsWith("Usage: scythe run"));
        Result v = cli("version");
        assertEquals(0, v.status());
        assertTrue(v.out().startsWith("scythe 0."), v.out());
    }

    @Test
    void raceExitStatusesAndOutput() {
        Result won = cli("race", "--", "sh", "-c", "sleep 0.2; echo unsat", ":::", "sleep", "300");
        assertEquals(0, won.status(), won.out() + won.err());
        assertTrue(won.out().contains("winner: 1:sh"), won.out());
        assertTrue(won.out().contains("preempted"), won.out());
        assertTrue(won.out().contains("unsat"), won.out());
        assertEquals(1, cli("race", "--", "sh", "-c", "exit 1", ":::", "false").status());
        assertEquals(124, cli("race", "--timeout", "200ms", "--", "sleep", "30", ":::", "sleep", "30").status());
        Result json = cli("race", "--json", "--success-exit", "10", "--", "sh", "-c", "exit 10", ":::", "sleep", "30");
        assertEquals(0, json.status());
        for (String key : new String[] {"\"winner\":\"1:sh\"", "\"preemption_latency_ms\":", "\"kind\":\"preempted\""}) {
            assertTrue(json.out().contains(key), key + " in " + json.out());
        }
        Result matched = cli("race", "--success-match", "^unsat", "--", "sh", "-c", "echo sat", ":::", "sh", "-c",
                "sleep 0.1; echo unsat");
        assertTrue(matched.out().contains("winner: 2:sh"), matched.out());
        Result best = cli("race", "--mode", "best", "--jobs", "1", "--", "sh", "-c", "sleep 0.3", ":::", "true");
        assertTrue(best.out().contains("winner: 2:true"), best.out());
    }

    @Test
    void raceBadInputIsNamed() {
        assertTrue(cli("race", "--", "true", ":::").err().contains("race entrant 2 has no command"));
        assertTrue(cli("race", "--jobs", "0", "--", "true").err().contains("--jobs: 0 is out of range; accepted: 1 to"));
        assertTrue(cli("race", "--mode", "fastest", "--", "true").err().contains("--mode: must be first, best or seq"));
        assertTrue(cli("race", "--success-exit", "300", "--", "true").err().contains("--success-exit: 300 is out of "
                + "range; accepted: 0 to 255"));
        assertTrue(cli("race", "--success-match", "(", "--", "true").err().contains("invalid POSIX extended regex"));
        assertEquals(125, cli("race", "--success-match", "(", "--", "true").status());
    }

    @Test
    void runWithAStallWindow(@TempDir Path dir) throws Exception {
        Result stalled = cli("run", "--json", "--stall", "300ms", "--progress", dir.toString(), "--", "sh", "-c",
                "touch " + dir + "/a; sleep 30");
        assertEquals(124, stalled.status());
        assertTrue(stalled.out().contains("\"kind\":\"stalled\""), stalled.out());
        assertTrue(stalled.out().contains("\"stall_window_ms\":300.000"), stalled.out());
        Result lines = cli("run", "--stall", "300ms", "--progress-output", "^step", "--", "sh", "-c",
                "for i in 1 2 3 4 5 6; do echo step $i; sleep 0.1; done");
        assertEquals(0, lines.status(), lines.err());
        assertTrue(lines.out().contains("step 6"), "captured output is shown at the end: " + lines.out());
        Path beat = dir.resolve("beat");
        assertEquals(124, cli("run", "--stall", "200ms", "--heartbeat", beat.toString(), "--", "sleep", "30").status());
        Result cpu = cli("run", "--json", "--cpu-limit", "200ms", "--", "sh", "-c", "while :; do :; done");
        assertTrue(cpu.out().contains("\"resource\":\"cpu\""), cpu.out());
        assertTrue(cli("run", "--stall", "1s", "--", "true").err().contains("--stall needs a progress probe"));
        assertTrue(cli("run", "--progress", "/tmp", "--", "true").err().contains("need --stall"));
        assertTrue(cli("run", "--stall", "1s", "--progress-output", "(", "--", "true").err()
                .contains("--progress-output: invalid POSIX extended regex '('"));
    }

    @Test
    void deepenPrintsEveryAttempt(@TempDir Path dir) throws Exception {
        Path prover = dev.scythe.Checkout.resolve("java/core/src/test/resources/deepening-prover.sh");
        Files.createDirectories(dir.resolve("proof"));
        Result r = cli("deepen", "--max-depth", "1000", "--per-depth-timeout", "1ms", "--progress",
                dir.resolve("proof").toString(), "--", "sh", prover.toString(), "{depth}", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        for (String line : new String[] {"attempt 1: depth 1000, stall window 1000ms -> stalled",
            "attempt 5: depth 62, stall window 62ms -> success", "outcome: success after 5 attempt(s)",
            "proved at depth 62"}) {
            assertTrue(r.out().contains(line), line + " in " + r.out());
        }
        Result json = cli("deepen", "--json", "--max-depth", "4", "--per-depth-timeout", "50ms", "--max-attempts", "2",
                "--progress", dir.toString(), "--", "sh", "-c", "sleep 30 # {depth}");
        assertEquals(124, json.status());
        assertTrue(json.out().contains("\"depth\":4") && json.out().contains("\"depth\":2"), json.out());
        assertTrue(cli("deepen", "--max-depth", "8", "--progress", "/tmp", "--", "x", "{depth}").err()
                .contains("--per-depth-timeout"));
    }

    @Test
    void durationsReadLikePeopleWriteThem() {
        assertEquals(Duration.ofMillis(500), Durations.parse("--t", "500ms"));
        assertEquals(Duration.ofSeconds(2), Durations.parse("--t", "2s"));
        assertEquals(Duration.ofMinutes(1), Durations.parse("--t", "1m"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("--t", "1.5s"));
        assertEquals(Duration.ofSeconds(3), Durations.parse("--t", "3"));
        assertThrows(UsageException.class, () -> Durations.parse("--t", "-1s"));
        assertThrows(UsageException.class, () -> Durations.parse("--t", ""));
    }
}
