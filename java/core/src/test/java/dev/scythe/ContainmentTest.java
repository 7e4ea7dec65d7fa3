package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Adversarial jobs at the session containment level; each case proves nothing leaked. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ContainmentTest extends SupervisedTest {

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

    static void assumeCaps(String... caps) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Scythe.capabilities().containsAll(java.util.List.of(caps)),
                () -> "skipped: this machine lacks " + java.util.List.of(caps) + "; it offers " + Scythe.capabilities());
    }

    @Test
    void setsidAndDoubleForkEscapeesDieWithTheCgroup() throws Exception {
        assumeCaps("cgroup_kill");
        for (String script : new String[] {"setsid sleep 300 & echo $!; sleep 300", "(setsid sleep 300 & echo $!); sleep 300"}) {
            Job job = supervisor.start(ProcessSpec.builder("sh", "-c", script).containment(Containment.CGROUP)
                    .timeout(Duration.ofMillis(400)).build());
            assertInstanceOf(Outcome.TimedOut.class, job.await());
            assertEquals(Containment.CGROUP, job.containment());
            long escapee = Long.parseLong(job.stdout().text().trim());
            String[] st = Leaks.stat(escapee);
            assertTrue(st == null || (st[0].equals("Z") && Long.parseLong(st[1]) != ProcessHandle.current().pid()),
                    "escapee " + escapee + " of '" + script + "' still runs");
            Leaks.assertSessionGone(job.pid());
        }
    }

    @Test
    void forkStormUnderAProcessLimit() throws Exception {
        assumeCaps("cgroup_kill", "cgroup_pids");
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "while :; do sleep 300 & done").processLimit(20)
                .containment(Containment.CGROUP).build());
        Outcome.ResourceExceeded r = assertInstanceOf(Outcome.ResourceExceeded.class, job.await());
        assertEquals(Outcome.Resource.PROCESSES, r.resource());
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void memoryHogAboveTheLimitAndAReservationThatIsNotMemory() throws Exception {
        assumeCaps("cgroup_kill", "cgroup_memory");
        Job hog = supervisor.start(ProcessSpec.builder("sh", "-c", "yes | tr '\\n' x | head -c 300000000 | sort >/dev/null")
                .memoryLimit(64L << 20).containment(Containment.CGROUP).build());
        Outcome.ResourceExceeded r = assertInstanceOf(Outcome.ResourceExceeded.class, hog.await());
        assertEquals(Outcome.Resource.MEMORY, r.resource());
        assertTrue(r.usage().maxRssKib() <= 65 * 1024, "peak of the cgroup: " + r.usage());
        Leaks.assertSessionGone(hog.pid());
        // A JVM reserves its 4 GiB heap as address space it has not touched: under a 256 MiB limit it runs fine.
        String java = ProcessHandle.current().info().command().orElseThrow();
        Job jvm = supervisor.start(ProcessSpec.builder(java, "-Xms8m", "-Xmx4g", "-XX:+UseSerialGC", "-version")
                .memoryLimit(256L << 20).containment(Containment.CGROUP).build());
        assertInstanceOf(Outcome.Success.class, jvm.await(), jvm.stderr().text());
    }

    @Test
    void cpuBurnersUnderACpuBudgetCountTheWholeJob() throws Exception {
        assumeCaps("cgroup_kill");
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "yes >/dev/null & yes >/dev/null & sleep 300")
                .cpuLimit(Duration.ofMillis(500)).containment(Containment.CGROUP).build());
        Outcome.ResourceExceeded r = assertInstanceOf(Outcome.ResourceExceeded.class, job.await());
        assertEquals(Outcome.Resource.CPU, r.resource());
        assertTrue(r.usage().cpu().toMillis() >= 500, "the burners' CPU counted: " + r.usage());
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void bestEffortSaysWhatItGotAndSessionRefusesLimits() throws Exception {
        Job job = supervisor.start(ProcessSpec.builder("true").containment(Containment.BEST).build());
        job.await();
        assertEquals(Scythe.capabilities().contains("cgroup_kill") ? Containment.CGROUP : Containment.SESSION,
                job.containment());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ProcessSpec.builder("z3").containment(Containment.SESSION).memoryLimit(1 << 20).build());
        assertTrue(e.getMessage().contains("need containment CGROUP"), e.getMessage());
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
