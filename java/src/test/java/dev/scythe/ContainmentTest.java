package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Adversarial jobs at the session containment level; each case proves nothing leaked. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ContainmentTest {
    private Leaks.Snapshot baseline;
    private Supervisor supervisor;

    @BeforeEach
    void open() {
        baseline = Leaks.take();
        supervisor = new Supervisor();
    }

    @AfterEach
    void close() {
        supervisor.close();
        Leaks.assertNoneSince(baseline);
    }

    @Test
    void aGrandchildHoldingStdoutOpenDoesNotHoldTheOutcomeBack() throws Exception {
        Job job = supervisor.start(ProcessSpec.of("sh", "-c", "(sleep 300; echo late) & echo early"));
        Outcome o = job.await();
        assertInstanceOf(Outcome.Success.class, o);
        assertTrue(job.reapedNanos() - job.exitNanos() < 1_000_000_000L);
        assertEquals("early\n", job.stdout().text());
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void aHangDossierIsWrittenBeforeTheKill(@TempDir Path dir) throws Exception {
        Job bystander = supervisor.start(ProcessSpec.of("sleep", "300"));
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "sleep 300 & sleep 301")
                .timeout(Duration.ofMillis(300)).dossier(dir).build());
        assertInstanceOf(Outcome.TimedOut.class, job.await());
        Path dossier = job.dossier().orElseThrow();
        assertEquals(dir.resolve("scythe-dossier-" + job.pid() + ".txt"), dossier);
        String text = Files.readString(dossier);
        for (String expected : new String[] {"overran (timeout)", "== session " + job.pid() + " (job running",
            "sleep 301", "wchan:", "kernel stack:", "fds: 0->", "== session " + bystander.pid(),
            "== supervising JVM", "\"scythe-loop-", "dev.scythe.Supervisor.runLoop("}) {
            assertTrue(text.contains(expected), "dossier lacks '" + expected + "':\n" + text);
        }
        bystander.cancel();
        bystander.await();
        Leaks.assertSessionGone(job.pid());
        Job fine = supervisor.start(ProcessSpec.builder("true").timeout(Duration.ofSeconds(5)).dossier(dir).build());
        fine.await();
        assertTrue(fine.dossier().isEmpty(), "no dossier for a job that did not overrun");
    }

    @Test
    void tenThousandSequentialJobsWithConstantResources() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        Runtime rt = Runtime.getRuntime();
        long rssBefore = rssKib();
        for (int i = 0; i < 10_000; i++) {
            Outcome o = supervisor.start(ProcessSpec.of("/bin/true")).await();
            if (!(o instanceof Outcome.Success)) {
                throw new AssertionError("job " + i + ": " + o);
            }
        }
        assertEquals(0, supervisor.liveJobs());
        Leaks.assertNoneSince(before);
        long grew = rssKib() - rssBefore;
        assertTrue(grew < 100 * 1024, "RSS grew by " + grew + " KiB over 10,000 jobs (heap max "
                + rt.maxMemory() / 1024 + " KiB)");
    }

    static long rssKib() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmRSS");
    }
}
