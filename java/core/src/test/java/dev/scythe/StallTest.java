package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Stall windows, progress probes and progressive deepening, on real processes; bounds are generous. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StallTest extends SupervisedTest {

    private Job run(ProcessSpec spec) throws InterruptedException {
        Job job = supervisor.start(spec);
        job.await();
        Leaks.assertSessionGone(job.pid());
        return job;
    }

    @Test
    void aJobWritingFilesEvery100msIsNotKilledForTenSeconds(@TempDir Path dir) throws Exception {
        Job job = run(ProcessSpec.builder("sh", "-c", "for i in $(seq 100); do touch " + dir + "/f$i; sleep 0.1; done")
                .stall(Duration.ofSeconds(1)).progressTree(dir).build());
        assertInstanceOf(Outcome.Success.class, job.await());
        assertTrue(job.await().usage().wall().toMillis() >= 9_000, job.await().toString());
    }

    @Test
    void theSameJobStoppingAfterTwoSecondsIsStalledShortlyAfterThree(@TempDir Path dir) throws Exception {
        Job job = run(ProcessSpec.builder("sh", "-c", "for i in $(seq 20); do touch " + dir + "/f$i; sleep 0.1; done; "
                + "sleep 300 & sleep 300").stall(Duration.ofSeconds(1)).progressTree(dir).build());
        Outcome.Stalled s = assertInstanceOf(Outcome.Stalled.class, job.await());
        assertEquals(Duration.ofSeconds(1), s.window());
        long wallMs = s.usage().wall().toMillis();
        assertTrue(wallMs >= 2_900 && wallMs < 6_000, "stalled after " + wallMs + " ms");
        long afterWindowMs = (job.exitNanos() - job.lastProgressNanos()) / 1_000_000 - 1_000;
        assertTrue(afterWindowMs >= 0 && afterWindowMs < 1_000, "killed " + afterWindowMs + " ms after the window");
        assertEquals(124, s.exitStatus());
    }

    @Test
    void newDirectoriesBelowTheTreeAreWatchedToo(@TempDir Path dir) throws Exception {
        Job job = run(ProcessSpec.builder("sh", "-c", "mkdir -p " + dir + "/a/b; for i in $(seq 15); do touch " + dir
                + "/a/b/f$i; sleep 0.1; done").stall(Duration.ofMillis(600)).progressTree(dir).build());
        assertInstanceOf(Outcome.Success.class, job.await(), "progress deep in a directory made after the start");
    }

    @Test
    void progressLinesKeepAJobAliveAndOtherLinesDoNot() throws Exception {
        String lines = "for i in $(seq 15); do echo \"%s $i\"; sleep 0.1; done";
        Job steady = run(ProcessSpec.builder("sh", "-c", lines.formatted("# Processed clauses:"))
                .stall(Duration.ofMillis(500)).progressOutput("^# Processed clauses: [0-9]+$").build());
        assertInstanceOf(Outcome.Success.class, steady.await());
        Job silent = run(ProcessSpec.builder("sh", "-c", "echo '# Processed clauses: 1'; sleep 300")
                .stall(Duration.ofMillis(500)).progressOutput("^# Processed clauses").build());
        assertInstanceOf(Outcome.Stalled.class, silent.await());
        Job noise = run(ProcessSpec.builder("sh", "-c", lines.formatted("thinking"))
                .stall(Duration.ofMillis(500)).progressOutput("^# Processed clauses").build());
        assertInstanceOf(Outcome.Stalled.class, noise.await(), "lines not matching the regex do not count");
    }

    @Test
    void fiftyMegabytesOfOutputWhileMakingProgressIsNoStall(@TempDir Path dir) throws Exception {
        Job job = run(ProcessSpec.builder("sh", "-c", "for i in $(seq 10); do head -c 5242880 /dev/urandom; touch "
                + dir + "/step$i; done; echo done").stall(Duration.ofSeconds(2)).progressTree(dir).build());
        assertInstanceOf(Outcome.Success.class, job.await());
        assertEquals(50L * 1024 * 1024 + 5, job.stdout().total());
        Job bytes = run(ProcessSpec.builder("sh", "-c", "head -c 52428800 /dev/urandom")
                .stall(Duration.ofMillis(500)).progressOutput().build());
        assertInstanceOf(Outcome.Success.class, bytes.await());
    }

    @Test
    void heartbeatFromTheJobAndAJavaPredicate(@TempDir Path dir) throws Exception {
        Path beat = dir.resolve("beat");
        // The job bumps the counter as scythe_heartbeat_beat would, here by rewriting the 8 bytes in place.
        Job beating = run(ProcessSpec.builder("sh", "-c", "for i in $(seq 10); do printf \"\\\\$(printf %o $i)"
                + "\\000\\000\\000\\000\\000\\000\\000\" | dd of=" + beat + " conv=notrunc status=none; sleep 0.1; "
                + "done; sleep 300").stall(Duration.ofMillis(400)).heartbeat(beat).build());
        assertInstanceOf(Outcome.Stalled.class, beating.await());
        assertTrue(beating.lastProgressNanos() - beating.startNanos() >= 700_000_000L, "beats counted");

        AtomicLong polls = new AtomicLong();
        Job predicate = run(ProcessSpec.builder("sleep", "300").stall(Duration.ofMillis(300))
                .progressWhen(() -> polls.incrementAndGet() < 10, Duration.ofMillis(50)).build());
        assertInstanceOf(Outcome.Stalled.class, predicate.await());
        assertTrue(predicate.lastProgressNanos() - predicate.startNanos() >= 300_000_000L);
    }

    @Test
    void timeoutAndCpuLimitBesideTheStallWindowSayWhichEndedIt(@TempDir Path dir) throws Exception {
        Job slow = run(ProcessSpec.builder("sh", "-c", "while :; do touch " + dir + "/x; sleep 0.05; done")
                .stall(Duration.ofSeconds(1)).progressTree(dir).timeout(Duration.ofMillis(500)).build());
        assertInstanceOf(Outcome.TimedOut.class, slow.await(), "productive but over its wall-clock limit");
        Job burner = run(ProcessSpec.builder("sh", "-c", "while :; do :; done").cpuLimit(Duration.ofMillis(300))
                .stall(Duration.ofSeconds(10)).progressOutput().build());
        Outcome.ResourceExceeded r = assertInstanceOf(Outcome.ResourceExceeded.class, burner.await());
        assertEquals(Outcome.Resource.CPU, r.resource());
        assertTrue(r.usage().cpu().toMillis() >= 290, r.toString());
    }

    @Test
    void walkingTheTreeWorksWhereInotifyCannotBeUsed(@TempDir Path dir) throws Exception {
        Job job = run(ProcessSpec.builder("sh", "-c", "for i in $(seq 10); do touch " + dir + "/f$i; sleep 0.1; done; "
                + "sleep 300").stall(Duration.ofMillis(500)).progressTreeByWalking(dir).build());
        assertInstanceOf(Outcome.Stalled.class, job.await());
        assertTrue(job.treeWalked());
        assertTrue(job.lastProgressNanos() - job.startNanos() >= 800_000_000L, "the walks saw the touches");
    }

    @Test
    void deepeningHalvesTheDepthAndResumesFromDisk(@TempDir Path dir) throws Exception {
        Path prover = Path.of(getClass().getResource("/deepening-prover.sh").toURI());
        Files.createDirectories(dir.resolve("proof"));
        // Probes only (regression: Deepening required a stall window in the template, then discarded it).
        ProcessSpec template = ProcessSpec.builder("sh", prover.toString(), "{depth}", dir.toString())
                .progressTree(dir.resolve("proof")).build();
        Deepening.Result r = Deepening.builder(template).startDepth(1000).perDepthTimeout(Duration.ofMillis(1))
                .build().run(supervisor);
        assertEquals(List.of(1000, 500, 250, 125, 62), r.attempts().stream().map(Deepening.Attempt::depth).toList());
        assertEquals(Duration.ofMillis(1000), r.attempts().get(0).window());
        for (Deepening.Attempt a : r.attempts().subList(0, 4)) {
            assertInstanceOf(Outcome.Stalled.class, a.outcome(), a.toString());
        }
        assertTrue(r.succeeded(), r.toString());
        assertEquals("resumed the state of 4 earlier attempt(s); proved at depth 62\n",
                r.attempts().get(4).stdout().text());
        assertEquals(List.of("1000", "500", "250", "125", "62"), Files.readAllLines(dir.resolve("state")));
    }

    @Test
    void deepeningIsBoundedByAttemptsAndTime(@TempDir Path dir) throws Exception {
        ProcessSpec hangs = ProcessSpec.builder("sh", "-c", "touch " + dir + "/x-{depth}; sleep 300")
                .stall(Duration.ofSeconds(1)).progressTree(dir).build();
        Deepening.Result few = Deepening.builder(hangs).startDepth(8).perDepthTimeout(Duration.ofMillis(20))
                .maxAttempts(3).build().run(supervisor);
        assertEquals(List.of(8, 4, 2), few.attempts().stream().map(Deepening.Attempt::depth).toList());
        Deepening.Result timed = Deepening.builder(hangs).startDepth(4).minDepth(2)
                .perDepthTimeout(Duration.ofMillis(100)).timeout(Duration.ofMillis(700)).build().run(supervisor);
        assertTrue(timed.attempts().stream().allMatch(a -> a.depth() >= 2), "never below the minimum depth");
        assertTrue(timed.wall().toMillis() < 3_000, timed.toString());
        Deepening.Result failing = Deepening.builder(ProcessSpec.builder("sh", "-c", "exit {depth}")
                .stall(Duration.ofSeconds(1)).progressOutput().build()).startDepth(3)
                .perDepthTimeout(Duration.ofSeconds(1)).build().run(supervisor);
        assertEquals(1, failing.attempts().size(), "a plain failure ends it");
        assertEquals(3, ((Outcome.Failure) failing.outcome()).exitCode());
    }

    @Test
    void badProbeSettingsAreNamed(@TempDir Path dir) throws Exception {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builder("z3")
                .stall(Duration.ofSeconds(1)).build()).getMessage().contains("needs a progress probe"));
        // Probes without a window are a template's (Deepening sets the window per attempt): kept, inert.
        assertEquals(null, ProcessSpec.builder("z3").progressTree(dir).build().progress().window());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builder("z3")
                .progressOutput("(")).getMessage().contains("not a valid POSIX extended regex"));
        Outcome missing = supervisor.start(ProcessSpec.builder("true").stall(Duration.ofSeconds(1))
                .progressTree(dir.resolve("nope")).build()).await();
        assertTrue(((Outcome.SpawnFailed) missing).message().contains("progress directory"), missing.toString());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Deepening.builder(ProcessSpec.of("true")))
                .getMessage().contains("progress probes"));
    }
}
