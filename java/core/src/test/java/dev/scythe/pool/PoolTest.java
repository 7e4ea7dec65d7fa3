package dev.scythe.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Worker pools with real worker processes (the Python helper's echo worker), and proof that nothing leaked. */
@Timeout(120)
class PoolTest {
    private Leaks.Snapshot baseline;
    private Supervisor supervisor;
    private final List<AutoCloseable> pools = new ArrayList<>();

    @BeforeEach
    void open() {
        baseline = Leaks.take();
        supervisor = new Supervisor();
    }

    @AfterEach
    void closeAndCheckLeaks() throws Exception {
        for (AutoCloseable p : pools) {
            p.close();
        }
        supervisor.close();
        Leaks.assertNoneSince(baseline);
    }

    static ProcessSpec.Builder python(String script) {
        Path workers = Path.of("src/test/resources/workers").toAbsolutePath();
        Path helper = Path.of("../../bindings/python").toAbsolutePath().normalize();
        return ProcessSpec.builder("python3", "-u", workers.resolve(script).toString())
                .environment(env(Map.of("PYTHONPATH", helper.toString())));
    }

    static Map<String, String> env(Map<String, String> extra) {
        var env = new java.util.HashMap<>(System.getenv());
        env.putAll(extra);
        return env;
    }

    private Pool<Object, JsonRpc.Call, JsonRpc.Reply, Void> echo(int workers, java.util.function.UnaryOperator<
            Pool.Builder<Object, JsonRpc.Call, JsonRpc.Reply, Void>> settings) {
        TaskKind<Object, JsonRpc.Call, JsonRpc.Reply, Void> kind = TaskKind.simple(t -> t instanceof JsonRpc.Call c
                ? c : JsonRpc.task(t));
        var pool = settings.apply(Pool.builder(supervisor, python("echo_worker.py").build(), JsonRpc.protocol(), kind)
                .workers(workers)).start();
        pools.add(pool);
        return pool;
    }

    private static JsonRpc.Call call(String method, Map<String, Object> params) {
        return new JsonRpc.Call(method, params);
    }

    private static <R> Result.Response<R> response(Result<R> r) {
        return assertInstanceOf(Result.Response.class, r, () -> "expected a response, got " + r);
    }

    private static long pidOf(Pool<Object, JsonRpc.Call, JsonRpc.Reply, Void> pool) throws Exception {
        var r = response(pool.submit(call("pid", Map.of())).get(30, TimeUnit.SECONDS));
        return ((Number) r.value().result()).longValue();
    }

    @Test
    void persistentWorkersServeManyTasks() throws Exception {
        var pool = echo(2, b -> b);
        List<Pool.Ticket<JsonRpc.Reply>> tickets = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            tickets.add(pool.submit("t" + i));
        }
        Set<Integer> pids = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            var r = response(tickets.get(i).get(30, TimeUnit.SECONDS));
            assertEquals(Map.of("echo", "t" + i), r.value().result());
            pids.add(r.pid());
        }
        assertTrue(pids.size() <= 2, "two persistent workers served everything, got pids " + pids);
    }

    /** Regression: a request parked on the channel of a hard-killed worker must fail at once (tractor's hang). */
    @Test
    void killMinus9FailsEveryPendingRequestAtOnce() throws Exception {
        var pool = echo(1, b -> b.maxInFlight(100));
        long pid = pidOf(pool);
        List<Pool.Ticket<JsonRpc.Reply>> tickets = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            tickets.add(pool.submit(call("sleep", Map.of("seconds", 60))));
        }
        awaitPending(pool, 100);
        new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor();
        for (var t : tickets) {
            var r = t.get(10, TimeUnit.SECONDS); // no get() waits past the death
            var died = assertInstanceOf(Result.WorkerDied.class, r, () -> "got " + r);
            assertEquals(9, died.signal());
            assertEquals(pid, died.pid());
        }
        assertNotEquals(pid, pidOf(pool), "a fresh worker took its place");
    }

    private static void awaitPending(Pool<?, ?, ?, ?> pool, int n) throws InterruptedException {
        long until = System.nanoTime() + 20_000_000_000L;
        while (pool.workers().stream().mapToInt(Pool.WorkerInfo::pending).sum() < n) {
            assertTrue(System.nanoTime() < until, "requests never reached the workers: " + pool.workers());
            Thread.sleep(5);
        }
    }

    /** Regression: exactly one outcome per request when a cancel races the response. */
    @Test
    void cancelRacingResponseGivesExactlyOneOutcome() throws Exception {
        var pool = echo(2, b -> b.cancelGrace(Duration.ofSeconds(2)));
        int cancelled = 0, answered = 0;
        for (int i = 0; i < 300; i++) {
            var t = pool.submit("race" + i);
            if (ThreadLocalRandom.current().nextBoolean()) {
                Thread.onSpinWait();
            } else {
                Thread.sleep(0, ThreadLocalRandom.current().nextInt(500_000));
            }
            boolean won = t.cancel(true);
            var r = t.get(30, TimeUnit.SECONDS);
            if (won) {
                assertInstanceOf(Result.Cancelled.class, r);
                cancelled++;
            } else {
                assertEquals(Map.of("echo", "race" + i), response(r).value().result());
                answered++;
            }
            assertFalse(t.cancel(true), "a second cancel decides nothing");
            assertEquals(r, t.get(), "the outcome never changes");
        }
        assertEquals(300, cancelled + answered);
        // the pool still works, and no worker was killed for a cancel that its response beat
        assertEquals(Map.of("echo", "after"), response(pool.submit("after").get(30, TimeUnit.SECONDS)).value()
                .result());
    }

    /** Regression: a grandchild holding the worker's stdout must not hide the worker's death (pidfd, not EOF). */
    @Test
    void deathSeenWhileAnEscapedGrandchildHoldsStdout() throws Exception {
        var pool = echo(1, b -> b.maxInFlight(2));
        var held = response(pool.submit(call("spawn_grandchild", Map.of("setsid", true))).get(30, TimeUnit.SECONDS));
        long grandchild = ((Number) held.value().result()).longValue();
        try {
            var crash = pool.submit(call("crash", Map.of("code", 7, "after", 0.3)));
            var pending = pool.submit(call("sleep", Map.of("seconds", 60)));
            awaitPending(pool, 2);
            var r = assertInstanceOf(Result.WorkerDied.class, crash.get(30, TimeUnit.SECONDS));
            assertEquals(7, r.exitCode());
            assertInstanceOf(Result.WorkerDied.class, pending.get(30, TimeUnit.SECONDS));
            assertTrue(Leaks.stat(grandchild) != null, "the escaped grandchild still holds the pipe: the death was "
                    + "seen from the pidfd, not from end-of-file");
        } finally {
            new ProcessBuilder("kill", "-9", Long.toString(grandchild)).start().waitFor();
            Leaks.assertGone(grandchild, "the test's escaped grandchild");
        }
    }

    /** Regression: request ids are never reused, also across cancels, deaths and recycled workers. */
    @Test
    void requestIdsAreNeverReused() throws Exception {
        var pool = echo(2, b -> b.maxTasks(7).cancelGrace(Duration.ofMillis(50)));
        Set<Long> seen = new HashSet<>();
        long last = 0;
        for (int i = 0; i < 60; i++) {
            if (i % 10 == 5) { // a cancelled request in between, and a worker killed for it
                var t = pool.submit(call("sleep", Map.of("seconds", 30, "ignore_cancel", true)));
                awaitPending(pool, 1);
                t.cancel(true);
            }
            if (i % 20 == 11) {
                assertInstanceOf(Result.WorkerDied.class, pool.submit(call("crash", Map.of("code", 1, "n", i)))
                        .get(30, TimeUnit.SECONDS));
            }
            var r = response(pool.submit(call("id", Map.of())).get(30, TimeUnit.SECONDS));
            long id = ((Number) r.value().result()).longValue();
            assertTrue(seen.add(id), "id " + id + " used twice");
            assertTrue(id > last, "ids only grow: " + id + " after " + last);
            last = id;
        }
    }

    @Test
    void idleWorkersAreRecycledAndComeBackWithWork() throws Exception {
        var pool = echo(1, b -> b.idleTimeout(Duration.ofMillis(200)));
        long first = pidOf(pool);
        assertTrue(Leaks.gone(first), "an idle worker is stopped");
        long until = System.nanoTime() + 10_000_000_000L;
        while (!pool.workers().get(0).state().equals("stopped")) {
            assertTrue(System.nanoTime() < until, "the slot stays empty without work: " + pool.workers());
            Thread.sleep(10);
        }
        long second = pidOf(pool);
        assertNotEquals(first, second, "work starts a fresh worker");
    }

    @Test
    void strayBytesOnStdoutAreAProtocolErrorAndReplaceTheWorker() throws Exception {
        var pool = echo(1, b -> b);
        long pid = pidOf(pool);
        var r = pool.submit(call("stray", Map.of())).get(30, TimeUnit.SECONDS);
        var err = assertInstanceOf(Result.ProtocolError.class, r, () -> "got " + r);
        assertTrue(err.message().contains("protocol error"), err.message());
        assertTrue(Leaks.gone(pid), "the worker that broke the protocol was killed");
        assertNotEquals(pid, pidOf(pool));
    }

    @Test
    void crashLoopStopsAtItsCapAndThePoolSaysFailing() throws Exception {
        TaskKind<Object, JsonRpc.Call, JsonRpc.Reply, Void> kind = TaskKind.simple(JsonRpc::task);
        var pool = Pool.builder(supervisor, ProcessSpec.of("sh", "-c", "echo boom >&2; exit 3"), JsonRpc.protocol(),
                kind).workers(2).restarts(3, Duration.ofMillis(5), Duration.ofMillis(40)).start();
        pools.add(pool);
        long until = System.nanoTime() + 20_000_000_000L;
        while (!pool.failing()) {
            assertTrue(System.nanoTime() < until, "never gave up: " + pool.workers());
            Thread.sleep(10);
        }
        for (var w : pool.workers()) {
            assertTrue(w.state().startsWith("failing"), w.toString());
            assertEquals(3, w.starts(), "started three times, then no more: " + w);
        }
        var r = assertInstanceOf(Result.Unavailable.class, pool.submit("x").get(10, TimeUnit.SECONDS));
        assertTrue(r.message().contains("exit 3"), r.message());
        Thread.sleep(300);
        assertEquals(3, pool.workers().get(0).starts(), "no restart after the cap");
    }

    /** A dead worker's failure says how it died and ends with the tail of its stderr (a bounded ring per worker). */
    @Test
    void workerDiedCarriesTheExitAndTheTailOfStderr() throws Exception {
        TaskKind<Object, JsonRpc.Call, JsonRpc.Reply, Void> kind = TaskKind.simple(JsonRpc::task);
        String script = "i=0; while [ $i -lt 3000 ]; do echo \"noise line $i\" >&2; i=$((i+1)); done; "
                + "echo 'fatal: out of lemmas' >&2; head -c 1 >/dev/null; exit 5";
        var pool = Pool.builder(supervisor, ProcessSpec.of("sh", "-c", script), JsonRpc.protocol(), kind).workers(1)
                .stderrTail(4096).start();
        pools.add(pool);
        var r = assertInstanceOf(Result.WorkerDied.class, pool.submit("t").get(30, TimeUnit.SECONDS));
        assertEquals(5, r.exitCode());
        assertEquals(0, r.signal());
        assertTrue(r.stderrTail().endsWith("fatal: out of lemmas\n"), r.stderrTail());
        assertTrue(r.stderrTail().length() <= 4096, "a bounded tail: " + r.stderrTail().length() + " chars");
        assertTrue(r.message().contains("exit 5") && r.message().contains("fatal: out of lemmas"), r.message());
    }

    @Test
    void aTaskThatKilledTwoWorkersIsQuarantined() throws Exception {
        var pool = echo(1, b -> b.restarts(10, Duration.ofMillis(5), Duration.ofMillis(20)));
        var crash = call("crash", Map.of("code", 9));
        assertInstanceOf(Result.WorkerDied.class, pool.submit(crash).get(30, TimeUnit.SECONDS));
        assertInstanceOf(Result.WorkerDied.class, pool.submit(crash).get(30, TimeUnit.SECONDS));
        var q = assertInstanceOf(Result.Quarantined.class, pool.submit(crash).get(30, TimeUnit.SECONDS));
        assertEquals(2, q.workersKilled());
        assertEquals(Map.of("echo", "fine"), response(pool.submit("fine").get(30, TimeUnit.SECONDS)).value().result());
    }

    @Test
    void memoryAboveTheLimitRebootsTheWorker() throws Exception {
        var pool = echo(1, b -> b.recycleAboveMemory(60L << 20));
        long first = pidOf(pool);
        response(pool.submit(call("alloc", Map.of("mb", 120))).get(30, TimeUnit.SECONDS));
        long second = pidOf(pool);
        assertNotEquals(first, second, "a worker over the limit is replaced after its response");
        assertTrue(Leaks.gone(first), "the recycled worker is gone");
        assertEquals(second, pidOf(pool), "a worker under the limit stays");
    }

    @Test
    void maxTasksAndRebootingModeRecycle() throws Exception {
        var pool = echo(1, b -> b.maxTasks(3));
        Set<Long> pids = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            pids.add(pidOf(pool));
        }
        assertEquals(2, pids.size(), "3 tasks per worker: " + pids);
        var rebooting = echo(1, b -> b.mode(Pool.Mode.REBOOTING));
        Set<Long> each = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            each.add(pidOf(rebooting));
        }
        assertEquals(4, each.size(), "a fresh worker per task: " + each);
    }

    @Test
    void retireRequestRecyclesAfterTheResponse() throws Exception {
        var pool = echo(1, b -> b);
        long pid = pidOf(pool);
        response(pool.submit(call("retire", Map.of())).get(30, TimeUnit.SECONDS));
        assertNotEquals(pid, pidOf(pool));
    }

    @Test
    void deadlineAndStallWindowEndRequestsAndKillSilentWorkers() throws Exception {
        // A deadline generous enough for a fresh worker (python starting on a loaded machine) to answer "next" in time.
        var pool = echo(1, b -> b.deadline(Duration.ofSeconds(2)).cancelGrace(Duration.ofMillis(100)));
        long pid = pidOf(pool);
        var r = pool.submit(call("sleep", Map.of("seconds", 30, "ignore_cancel", true))).get(30, TimeUnit.SECONDS);
        assertInstanceOf(Result.TimedOut.class, r, () -> "got " + r);
        assertTrue(Leaks.gone(pid), "a worker that ignored the cancel was killed with its tree");
        assertEquals(Map.of("echo", "next"), response(pool.submit("next").get(30, TimeUnit.SECONDS)).value().result());

        var stalls = echo(1, b -> b.stall(Duration.ofMillis(400)));
        // progress every 0.1 s keeps a 1 s request alive through a 0.4 s window
        response(stalls.submit(call("sleep", Map.of("seconds", 1))).get(30, TimeUnit.SECONDS));
        var s = stalls.submit(call("sleep", Map.of("seconds", 30, "progress", false))).get(30, TimeUnit.SECONDS);
        assertInstanceOf(Result.Stalled.class, s, () -> "got " + s);
    }

    @Test
    void cancelSendsTheNotificationAndTheWorkerStays() throws Exception {
        var pool = echo(1, b -> b.cancelGrace(Duration.ofSeconds(5)));
        long pid = pidOf(pool);
        var t = pool.submit(call("sleep", Map.of("seconds", 30)));
        awaitPending(pool, 1);
        assertTrue(t.cancel(true));
        assertInstanceOf(Result.Cancelled.class, t.get(10, TimeUnit.SECONDS));
        assertEquals(pid, pidOf(pool), "a worker that honoured the cancel is kept");
    }

    @Test
    void stayInjectsTasksAtTheHeadOfTheQueue() throws Exception {
        List<String> order = new CopyOnWriteArrayList<>();
        List<String> injectedResults = new CopyOnWriteArrayList<>();
        TaskKind<String, JsonRpc.Call, JsonRpc.Reply, Integer> kind = new TaskKind<>() {
            @Override
            public Optional<JsonRpc.Call> requestOf(WorkerStatus<Integer> status, String task) {
                return task.equals("invalid") ? Optional.empty() : Optional.of(JsonRpc.task(task));
            }

            @Override
            public Verdict<String, Integer> useResponse(WorkerStatus<Integer> status, String task, JsonRpc.Reply r) {
                order.add(task);
                int seen = status.isFresh() ? 0 : status.competenceOrNull();
                if (task.equals("state-34")) { // an error at state 34: repair from state 33 first
                    return Verdict.stay(seen + 1, List.of("state-33", "state-32"));
                }
                return Verdict.stay(seen + 1);
            }

            @Override
            public void onInjectedResult(String task, Result<JsonRpc.Reply> result) {
                injectedResults.add(task + ":" + (result instanceof Result.Response<?>));
            }
        };
        var pool = Pool.builder(supervisor, python("echo_worker.py").build(), JsonRpc.protocol(), kind).workers(1)
                .start();
        pools.add(pool);
        var a = pool.submit("state-34");
        var b = pool.submit("state-40");
        var dropped = pool.submit("invalid");
        response(a.get(30, TimeUnit.SECONDS));
        response(b.get(30, TimeUnit.SECONDS));
        assertInstanceOf(Result.Dropped.class, dropped.get(30, TimeUnit.SECONDS));
        assertEquals(List.of("state-34", "state-33", "state-32", "state-40"), order);
        assertEquals(List.of("state-33:true", "state-32:true"), injectedResults);
    }

    @Test
    void broadcastReachesEveryLiveWorker(@TempDir Path dir) throws Exception {
        TaskKind<Object, JsonRpc.Call, JsonRpc.Reply, Void> kind = TaskKind.simple(JsonRpc::task);
        var pool = Pool.builder(supervisor, python("echo_worker.py").environment(env(Map.of(
                "PYTHONPATH", Path.of("../../bindings/python").toAbsolutePath().normalize().toString(),
                "FEEDBACK_DIR", dir.toString()))).build(), JsonRpc.protocol(), kind).workers(3).start();
        pools.add(pool);
        long until = System.nanoTime() + 20_000_000_000L;
        while (pool.workers().stream().filter(w -> w.state().equals("idle")).count() < 3) {
            assertTrue(System.nanoTime() < until, "workers never started: " + pool.workers());
            Thread.sleep(10);
        }
        assertEquals(3, pool.broadcast(Map.of("goal", "lemma_1")));
        Set<Integer> pids = new HashSet<>();
        pool.workers().forEach(w -> pids.add(w.pid()));
        while (true) {
            try (var files = Files.list(dir)) {
                Set<Integer> seen = new HashSet<>();
                files.map(f -> f.getFileName().toString()).filter(f -> !f.startsWith("."))
                        .forEach(f -> seen.add(Integer.parseInt(f)));
                if (seen.equals(pids)) {
                    break;
                }
                assertTrue(System.nanoTime() < until, "feedback reached " + seen + " of " + pids);
            }
            Thread.sleep(10);
        }
        for (Integer pid : pids) {
            assertEquals("{\"goal\": \"lemma_1\"}", Files.readString(dir.resolve(pid.toString())).strip());
        }
    }

    /** Closing the supervisor under an open pool ends its workers too; the pool then reports failing, never hangs. */
    @Test
    void closingTheSupervisorUnderThePoolLeavesNoWorker() throws Exception {
        Supervisor own = new Supervisor();
        TaskKind<Object, JsonRpc.Call, JsonRpc.Reply, Void> kind = TaskKind.simple(t -> (JsonRpc.Call) t);
        var pool = Pool.builder(own, python("echo_worker.py").build(), JsonRpc.protocol(), kind).workers(2).start();
        pools.add(pool);
        var pid = response(pool.submit(call("pid", Map.of())).get(30, TimeUnit.SECONDS));
        var pending = pool.submit(call("sleep", Map.of("seconds", 60)));
        awaitPending(pool, 1);
        own.close(); // kills and reaps every job of its own, the pool's workers among them
        var r = pending.get(30, TimeUnit.SECONDS);
        assertInstanceOf(Result.WorkerDied.class, r, () -> "got " + r);
        assertTrue(Leaks.gone(((Number) pid.value().result()).longValue()));
        long until = System.nanoTime() + 20_000_000_000L;
        while (!pool.failing()) {
            assertTrue(System.nanoTime() < until, "the pool never said it cannot start workers: " + pool.workers());
            Thread.sleep(10);
        }
        var late = assertInstanceOf(Result.Unavailable.class, pool.submit(call("pid", Map.of()))
                .get(10, TimeUnit.SECONDS));
        assertTrue(late.message().contains("supervisor is closed"), late.message());
    }

    @Test
    void closingThePoolLeavesNoWorkerAndFailsWhatIsPending() throws Exception {
        var pool = echo(2, b -> b);
        long pid = pidOf(pool);
        var pending = pool.submit(call("sleep", Map.of("seconds", 60)));
        awaitPending(pool, 1);
        pool.close();
        assertInstanceOf(Result.Unavailable.class, pending.get(10, TimeUnit.SECONDS));
        assertInstanceOf(Result.Unavailable.class, pool.submit("late").get(10, TimeUnit.SECONDS));
        assertTrue(Leaks.gone(pid));
        assertEquals(0, supervisor.liveJobs());
    }
}
