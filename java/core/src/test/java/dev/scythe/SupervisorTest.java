package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor against real processes; every test proves it leaked nothing. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SupervisorTest extends SupervisedTest {

    private Outcome run(ProcessSpec spec) throws InterruptedException {
        return supervisor.start(spec).await();
    }

    @Test
    void exitCodesAndSignalsAreTyped() throws Exception {
        Job ok = supervisor.start(ProcessSpec.of("sh", "-c", "echo out; echo err >&2"));
        Outcome o = ok.await();
        assertInstanceOf(Outcome.Success.class, o);
        assertEquals("out\n", ok.stdout().text());
        assertEquals("err\n", ok.stderr().text());
        assertTrue(o.usage().maxRssKib() > 0 || o.usage().maxRss().isEmpty(), "a peak, or unknown: " + o.usage());
        assertTrue(ok.pid() > 0);

        Outcome failed = run(ProcessSpec.of("sh", "-c", "exit 3"));
        assertEquals(new Outcome.Failure(3, failed.usage()), failed);
        assertEquals(3, failed.exitStatus());

        Outcome crashed = run(ProcessSpec.of("sh", "-c", "kill -SEGV $$"));
        assertEquals(11, ((Outcome.Crashed) crashed).signal());
        assertEquals(139, crashed.exitStatus());
    }

    @Test
    void grandchildrenDieWithTheSession() throws Exception {
        Job job = supervisor.start(ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300"));
        Leaks.awaitSessionSize(job.pid(), 3);
        assertTrue(job.cancel());
        Outcome o = job.await();
        assertEquals(CancelToken.Reason.USER, ((Outcome.Cancelled) o).reason());
        assertFalse(job.cancel(), "a second cancel of an ended job does nothing");
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void leaderExitingLeavesNoBackgroundChild() throws Exception {
        Job job = supervisor.start(ProcessSpec.of("sh", "-c", "sleep 300 & echo started"));
        assertInstanceOf(Outcome.Success.class, job.await());
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void childIgnoringTermDiesAfterTheGrace() throws Exception {
        Duration grace = Duration.ofMillis(300);
        Path ready = Files.createTempFile("scythe-ready", "");
        Files.delete(ready);
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "trap '' TERM; touch " + ready
                + "; sleep 300 & wait").grace(grace).build());
        while (!Files.exists(ready)) {
            Thread.sleep(5);
        }
        long t0 = System.nanoTime();
        job.cancel();
        Outcome o = job.await();
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        Files.deleteIfExists(ready);
        assertEquals(9, ((Outcome.Cancelled) o).signal(), "ended by SIGKILL: " + o);
        assertTrue(tookMs >= 250 && tookMs < 10_000, "took " + tookMs + " ms with a 300 ms grace");
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void stoppedChildDiesOnCancel() throws Exception {
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "kill -STOP $$; sleep 300")
                .grace(Duration.ofSeconds(30)).build());
        long until = System.nanoTime() + 5_000_000_000L;
        String[] st;
        while ((st = Leaks.stat(job.pid())) != null && !st[0].equals("T") && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertEquals("T", st[0], "the job stopped itself");
        job.cancel();
        Outcome o = job.await();
        assertEquals(15, ((Outcome.Cancelled) o).signal(), "SIGTERM, delivered thanks to SIGCONT: " + o);
        assertTrue(o.usage().wall().toSeconds() < 20, "did not wait for the 30 s grace");
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void tenMegabytesEachWayDoNotBlock() throws Exception {
        byte[] input = new byte[10 << 20];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) ('a' + i % 26);
        }
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "head -c 10485760 /dev/zero >&2 & cat; wait")
                .stdin(Redirect.bytes(input)).build());
        assertInstanceOf(Outcome.Success.class, job.await());
        Output out = job.stdout(), err = job.stderr();
        assertEquals(input.length, out.total());
        assertEquals(input.length, err.total());
        assertEquals(input.length - out.head().length - out.tail().length, out.dropped());
        assertArrayEquals(Arrays.copyOf(input, out.head().length), out.head());
        assertArrayEquals(Arrays.copyOfRange(input, input.length - out.tail().length, input.length), out.tail());
    }

    @Test
    void missingBinaryIsSpawnFailed() throws Exception {
        Outcome o = run(ProcessSpec.of("/nonexistent/prover", "goal.smt2"));
        Outcome.SpawnFailed f = assertInstanceOf(Outcome.SpawnFailed.class, o);
        assertEquals(Outcome.Errno.ENOENT, f.errno());
        assertTrue(f.message().contains("No such file or directory"), f.message());
        assertEquals(127, o.exitStatus());
        assertEquals(0, supervisor.liveJobs());
    }

    @Test
    void childStartsWithCleanSignalsAndOnlyStdio() throws Exception {
        Job signals = supervisor.start(ProcessSpec.of("grep", "-E", "^(SigBlk|SigIgn)", "/proc/self/status"));
        assertInstanceOf(Outcome.Success.class, signals.await());
        assertEquals("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", signals.stdout().text());

        Job fds = supervisor.start(ProcessSpec.of("sh", "-c", "ls /proc/$$/fd"));
        assertInstanceOf(Outcome.Success.class, fds.await());
        assertEquals(List.of("0", "1", "2"), fds.stdout().text().lines().toList());
    }

    @Test
    void timeoutEndsTheWholeSession() throws Exception {
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "sleep 300 & sleep 300")
                .timeout(Duration.ofMillis(200)).build());
        Outcome o = job.await();
        assertInstanceOf(Outcome.TimedOut.class, o);
        assertEquals(124, o.exitStatus());
        assertTrue(o.usage().wall().toMillis() >= 190, o.toString());
        Leaks.assertSessionGone(job.pid());
    }

    @Test
    void thousandSequentialJobsLeakNothing() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        for (int i = 0; i < 1000; i++) {
            assertInstanceOf(Outcome.Success.class, run(ProcessSpec.of("/bin/true")));
        }
        assertEquals(0, supervisor.liveJobs());
        Leaks.assertNoneSince(before);
    }

    @Test
    void twoHundredLiveChildrenNeedNoThreadEach() throws Exception {
        CancelToken all = CancelToken.create();
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            jobs.add(supervisor.start(ProcessSpec.builder("sleep", "300").token(all).build()));
        }
        long scytheThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("scythe-")).count();
        assertTrue(scytheThreads <= 3, "scythe threads with 200 live children: " + scytheThreads);
        Map<Long, String> started = Leaks.threadsStartedSince(baseline);
        assertTrue(started.size() <= 2, "threads started with 200 live children: " + started);
        all.cancel();
        for (Job j : jobs) {
            assertInstanceOf(Outcome.Cancelled.class, j.await());
            Leaks.assertSessionGone(j.pid());
        }
    }

    @Test
    void cancellingATokenKillsFiftySessions() throws Exception {
        CancelToken token = CancelToken.create();
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            jobs.add(supervisor.start(ProcessSpec.builder("sh", "-c", "sleep 300 & sleep 300").token(token.child())
                    .build()));
        }
        for (Job j : jobs) {
            Leaks.awaitSessionSize(j.pid(), 3);
        }
        assertTrue(token.cancel(CancelToken.Reason.of(77)));
        for (Job j : jobs) {
            assertEquals(CancelToken.Reason.of(77), ((Outcome.Cancelled) j.await()).reason());
        }
        for (Job j : jobs) {
            Leaks.assertSessionGone(j.pid());
        }
        Outcome late = run(ProcessSpec.builder("true").token(token).build());
        assertEquals(CancelToken.Reason.of(77), ((Outcome.Cancelled) late).reason(),
                "a job on a cancelled token never starts");
    }

    @Test
    void closeEndsEveryJob() throws Exception {
        Supervisor other = new Supervisor();
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            jobs.add(other.start(ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300")));
        }
        jobs.forEach(j -> Leaks.awaitSessionSize(j.pid(), 3));
        other.close();
        for (Job j : jobs) {
            assertTrue(j.isDone());
            assertEquals(CancelToken.Reason.SHUTDOWN, ((Outcome.Cancelled) j.await()).reason());
            Leaks.assertSessionGone(j.pid());
        }
        assertFalse(other.loopThread().isAlive());
        assertThrows(IllegalStateException.class, () -> other.start(ProcessSpec.of("true")));
        other.close(); // idempotent
    }

    @Test
    void filesForStdio(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.txt");
        Files.writeString(in, "from a file\n");
        Outcome o = run(ProcessSpec.builder("cat").stdin(Redirect.file(in)).stdout(Redirect.file(out)).build());
        assertInstanceOf(Outcome.Success.class, o);
        assertEquals("from a file\n", Files.readString(out, StandardCharsets.UTF_8));
        Outcome missing = run(ProcessSpec.builder("cat").stdin(Redirect.file(dir.resolve("nope"))).build());
        assertTrue(((Outcome.SpawnFailed) missing).message().contains("nope"), missing.toString());
    }

    @Test
    void environmentAndDirectory(@TempDir Path dir) throws Exception {
        Job job = supervisor.start(ProcessSpec.builder("/bin/sh", "-c", "echo $GOAL; pwd")
                .environment(java.util.Map.of("GOAL", "lemma_7")).directory(dir).build());
        assertInstanceOf(Outcome.Success.class, job.await());
        assertEquals("lemma_7\n" + dir.toRealPath() + "\n", job.stdout().text());
    }

    @Test
    void badSpecsAreRejectedWithClearMessages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProcessSpec.of());
        assertTrue(e.getMessage().contains("command"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ProcessSpec.builder("z3").timeout(Duration.ofSeconds(-1)));
        assertTrue(e.getMessage().contains("timeout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builder("z3").stdout(Redirect.text("x")));
        assertTrue(e.getMessage().contains("stdout"), e.getMessage());
    }

    @Test
    void cancelReturnsTrueExactlyWhenItDecidedTheOutcome() throws Exception {
        // Regression: cancel() returned true for 385 of 500 cancels racing an exit, and 90 of those ended Success.
        int decided = 0, tooLate = 0;
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 500; i++) {
            Job job = supervisor.start(ProcessSpec.of("true"));
            long spin = random.nextInt(2_000_000);
            for (long t0 = System.nanoTime(); System.nanoTime() - t0 < spin; ) {
                Thread.onSpinWait();
            }
            boolean cancelled = job.cancel(CancelToken.Reason.of(4242));
            Outcome o = job.await();
            if (cancelled) {
                decided++;
                Outcome.Cancelled c = assertInstanceOf(Outcome.Cancelled.class, o, "cancel() said it decided: " + o);
                assertEquals(CancelToken.Reason.of(4242), c.reason());
            } else {
                tooLate++;
                assertFalse(o instanceof Outcome.Cancelled, "cancel() said it was too late: " + o);
            }
        }
        System.out.printf("cancel racing exit: %d decided the outcome, %d came too late%n", decided, tooLate);
        assertTrue(decided > 0 && tooLate > 0, "both sides of the race were seen: " + decided + "/" + tooLate);
    }
}
