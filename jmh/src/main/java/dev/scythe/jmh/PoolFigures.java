package dev.scythe.jmh;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import dev.scythe.pool.JsonRpc;
import dev.scythe.pool.Pool;
import dev.scythe.pool.Result;
import dev.scythe.pool.SmtLib;
import dev.scythe.pool.TaskKind;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Worker pools against their floors, each measured in the same run and interleaved, round by round:
 * <ol>
 *   <li>throughput of 200 tiny SMT-LIB queries: a pool of persistent {@code z3 -in} workers (one per core) against one
 *   z3 process per query, both through Scythe, as many at once as there are cores;</li>
 *   <li>the pool's overhead per query against a raw pipe loop to the same {@code z3 -in} (the same bytes, written and
 *   read by the benchmark's own thread), one worker, one query at a time;</li>
 *   <li>from a worker's {@code kill -9} to the failure of all its 100 pending requests, against a raw pidfd wake: a
 *   thread blocked in poll(2) on the pidfd of a killed process.</li>
 * </ol>
 * Usage: {@code PoolFigures [rounds]}; {@code scripts/bench --pool} splices its section into docs/benchmarks.md.
 */
public final class PoolFigures {
    private static final int QUERIES = 200;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle POLL = handle("poll", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final AtomicLong ROUNDS = new AtomicLong();

    private PoolFigures() {}

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), fd);
    }

    public static void main(String[] args) throws Throwable {
        if (args.length > 0 && args[0].equals("death")) { // only the death figure, at both containment levels
            if (args.length > 1 && args[1].equals("quiet")) {
                java.util.logging.Logger.getLogger(Pool.class.getName()).setLevel(java.util.logging.Level.SEVERE);
            }
            try (Supervisor s = new Supervisor()) {
                for (var level : dev.scythe.Containment.values()) {
                    if (level == dev.scythe.Containment.BEST) {
                        continue;
                    }
                    Death d = deathLatency(s, Integer.getInteger("samples", 200), Integer.getInteger("warmup", 300),
                            level);
                    System.out.printf(Locale.ROOT, "%s: pool p50 %.0f p90 %.0f p99 %.0f | same work p50 %.0f p90 %.0f "
                            + "p99 %.0f | bare wake p50 %.0f%n", level, d.pool[0], d.pool[1], d.pool[2], d.sameWork[0],
                            d.sameWork[1], d.sameWork[2], d.floor[0]);
                }
            }
            return;
        }
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        System.out.print(section(rounds));
    }

    /** The markdown section "## Worker pools", with as many death samples as the full run (300 warm-up deaths). */
    static String section(int rounds) throws Throwable {
        return section(rounds, Math.max(200, rounds * 60), Integer.getInteger("warmup", 300));
    }

    /** The markdown section "## Worker pools": {@code samples} deaths of each kind after {@code warmup}. */
    static String section(int rounds, int samples, int warmup) throws Throwable {
        // A worker's death is logged as a warning; here the benchmark kills hundreds of them on purpose.
        java.util.logging.Logger.getLogger(Pool.class.getName()).setLevel(java.util.logging.Level.SEVERE);
        if (!dev.scythe.eval.Provers.onPath("z3")) {
            return "\n## Worker pools\n\nSkipped: no z3 on PATH.\n";
        }
        List<String> queries = new ArrayList<>();
        for (int i = 0; i < QUERIES; i++) {
            queries.add("(set-logic QF_LIA)\n(declare-const x Int)\n(assert (> x " + i + "))\n(assert (< x " + (i + 2)
                    + "))\n(check-sat)\n");
        }
        int cores = Runtime.getRuntime().availableProcessors();
        double[] pool = new double[rounds], oneShot = new double[rounds], piped = new double[rounds],
                raw = new double[rounds];
        try (Supervisor supervisor = new Supervisor()) {
            var kind = TaskKind.<String, String, SmtLib.Answer>simple(s -> s);
            try (var z3s = Pool.builder(supervisor, ProcessSpec.of("z3", "-in"), SmtLib.protocol(), kind)
                    .workers(cores).start();
                 var one = Pool.builder(supervisor, ProcessSpec.of("z3", "-in"), SmtLib.protocol(), kind)
                    .workers(1).start();
                 RawZ3 rawZ3 = new RawZ3()) {
                runPool(z3s, queries); // warm-up: JIT, page cache, the workers' first (reset)
                runOneShots(supervisor, queries, cores);
                sequentialPool(one, queries);
                rawZ3.run(queries);
                for (int r = 0; r < rounds; r++) {
                    pool[r] = runPool(z3s, queries);
                    oneShot[r] = runOneShots(supervisor, queries, cores);
                    piped[r] = sequentialPool(one, queries);
                    raw[r] = rawZ3.run(queries);
                }
            }
            Death session = deathLatency(supervisor, samples, warmup, dev.scythe.Containment.SESSION);
            Death cgroup = deathLatency(supervisor, samples, warmup, dev.scythe.Containment.BEST);
            return markdown(rounds, cores, median(pool), median(oneShot), median(piped), median(raw), session,
                    cgroup);
        }
    }

    private static String markdown(int rounds, int cores, double pool, double oneShot, double piped, double raw,
                                   Death d, Death cg) {
        StringBuilder b = new StringBuilder("\n## Worker pools\n\n");
        b.append("`PoolFigures` (`scripts/bench --pool`), ").append(rounds).append(" interleaved rounds, medians; ")
                .append(QUERIES).append(" tiny QF_LIA queries (sat), the Debian z3 ").append(z3Version())
                .append(". See docs/pools.md.\n\n");
        b.append("| figure | Scythe | floor or reference | ratio | target |\n|---|---:|---:|---:|---|\n");
        b.append(String.format(Locale.ROOT, "| %d queries, %d at once: persistent z3 pool against one z3 per query "
                + "(both through Scythe), queries/s | %.0f | %.0f | %.1fx the throughput | >= 4x |%n", QUERIES, cores,
                QUERIES / pool, QUERIES / oneShot, oneShot / pool));
        b.append(String.format(Locale.ROOT, "| one worker, one query at a time: pool against a raw pipe loop to the "
                + "same `z3 -in` (same bytes), ms per query | %.3f | %.3f | %.2fx the time | <= 1.2x |%n",
                piped * 1e3 / QUERIES, raw * 1e3 / QUERIES, piped / raw));
        for (Death x : List.of(d, cg)) {
            String level = x == d ? "session level" : "cgroup level (the default here)";
            b.append(String.format(Locale.ROOT, "| `kill -9` of a worker to the failure of all its 100 pending "
                    + "requests, %s, p50 µs (p90, p99), against the floor of the same work | %.0f (%.0f, %.0f) | "
                    + "%.0f (%.0f, %.0f) | %.2fx at p50 | p50 <= 1 ms and <= 1.5x |%n", level, x.pool[0], x.pool[1],
                    x.pool[2], x.sameWork[0], x.sameWork[1], x.sameWork[2], x.pool[0] / x.sameWork[0]));
            b.append(String.format(Locale.ROOT, "| the same, against the bare pidfd wake-up | %.0f | %.0f (%.0f, %.0f)"
                    + " | %.2fx at p50 | |%n", x.pool[0], x.floor[0], x.floor[1], x.floor[2], x.pool[0] / x.floor[0]));
        }
        b.append("\nThe death's floors are raw pidfd wake-ups: a thread blocked in poll(2) on the pidfd of a `sleep` "
                + "(posix_spawn, no supervisor) that the benchmark kills; the bare one ends at that thread's wake-up. "
                + "The floor of the same work is a worker as the pool has one: its stdin, stdout and stderr on pipes, "
                + "which the thread polls with the pidfd (the exit closes them first; only the pidfd says the worker "
                + "is dead), and it ends when that thread has reaped the process and completed 100 futures with the "
                + "same dependent stage as the pool's (recording the time, counting down). The pool's figure "
                + "runs from the same kill(2) to the completion of the last of its 100 futures (").append(d.samples)
                .append(" samples each, interleaved, after ").append(d.warmup).append(" warm-up deaths): the supervisor's loop thread sees the pidfd, reaps the worker and, in the same "
                + "wake-up, fails every pending request before any other bookkeeping (decisions 0022, 0023). At the "
                + "cgroup level the worker's exit costs the kernel more (its memory and pids leaves are uncharged), "
                + "and the event also waits for the cgroup's kill, its emptiness and its figures; the removal of its "
                + "empty leaves comes after (decision 0023). The floors run outside any cgroup.\n");
        return b.toString();
    }

    // ---- throughput -------------------------------------------------------------------------------------------

    private static double runPool(Pool<String, String, SmtLib.Answer, Void> pool, List<String> queries)
            throws Exception {
        long t0 = System.nanoTime();
        List<Pool.Ticket<SmtLib.Answer>> tickets = new ArrayList<>();
        for (String q : queries) {
            tickets.add(pool.submit(q));
        }
        for (var t : tickets) {
            check(t.get(60, TimeUnit.SECONDS));
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double sequentialPool(Pool<String, String, SmtLib.Answer, Void> pool, List<String> queries)
            throws Exception {
        long t0 = System.nanoTime();
        for (String q : queries) {
            check(pool.submit(q).get(60, TimeUnit.SECONDS));
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void check(Result<SmtLib.Answer> r) {
        if (!(r instanceof Result.Response<SmtLib.Answer> ok) || !ok.value().answers().equals(List.of("sat"))) {
            throw new IllegalStateException("z3 in a pool answered " + r);
        }
    }

    private static double runOneShots(Supervisor supervisor, List<String> queries, int atOnce) throws Exception {
        Semaphore slots = new Semaphore(atOnce);
        List<Job> jobs = new ArrayList<>();
        long t0 = System.nanoTime();
        for (String q : queries) {
            slots.acquire();
            Job j = supervisor.start(ProcessSpec.builder("z3", "-in").stdin(Redirect.text(q)).build());
            j.onExit().whenComplete((o, e) -> slots.release());
            jobs.add(j);
        }
        for (Job j : jobs) {
            Outcome o = j.await();
            if (!(o instanceof Outcome.Success) || !j.stdout().text().strip().equals("sat")) {
                throw new IllegalStateException("one-shot z3 gave " + o + ": " + j.stdout().text());
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The floor of the pool's overhead: the same bytes the SmtLib protocol sends, over plain pipes, by this thread. */
    private static final class RawZ3 implements AutoCloseable {
        private final Process z3 = new ProcessBuilder("z3", "-in").redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        private final OutputStream in = z3.getOutputStream();
        private final InputStream out = z3.getInputStream();
        private final byte[] buf = new byte[65536];
        private long id;

        RawZ3() throws java.io.IOException {}

        double run(List<String> queries) throws Exception {
            long t0 = System.nanoTime();
            for (String q : queries) {
                id++;
                in.write(SmtLib.protocol().encodeRequest(id, q, id == 1));
                in.flush();
                byte[] marker = ("scythe-done-" + id + "\n").getBytes(StandardCharsets.US_ASCII);
                StringBuilder got = new StringBuilder();
                while (!endsWith(got, marker)) {
                    int n = out.read(buf);
                    if (n < 0) {
                        throw new IllegalStateException("z3 closed its stdout: " + got);
                    }
                    got.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
                }
                if (!got.toString().startsWith("sat\n")) {
                    throw new IllegalStateException("raw z3 answered " + got);
                }
            }
            return (System.nanoTime() - t0) / 1e9;
        }

        private static boolean endsWith(StringBuilder s, byte[] suffix) {
            int n = suffix.length;
            if (s.length() < n) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (s.charAt(s.length() - n + i) != (char) suffix[i]) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public void close() throws Exception {
            z3.destroyForcibly();
            z3.waitFor();
        }
    }

    // ---- death to failure ------------------------------------------------------------------------------------------

    private record Death(double[] pool, double[] floor, double[] sameWork, int samples, int warmup) {}

    private static Death deathLatency(Supervisor supervisor, int samples, int warmup, dev.scythe.Containment level)
            throws Throwable {
        var kind = TaskKind.<Object, JsonRpc.Call, JsonRpc.Reply>simple(JsonRpc::task);
        long[] pool = new long[samples], floor = new long[samples], same = new long[samples];
        // A worker that reads nothing and answers nothing: its 100 requests stay pending in its stdin pipe.
        try (var p = Pool.builder(supervisor, ProcessSpec.builder("sleep", "100000").containment(level).build(),
                JsonRpc.protocol(), kind).workers(1)
                .maxInFlight(100).restarts(Integer.MAX_VALUE, Duration.ofMillis(1), Duration.ofMillis(1)).start()) {
            try (RawSpawn raw = new RawSpawn("/bin/sleep", "100000")) {
                for (int i = -warmup; i < samples; i++) { // warm-ups: a warm JVM, as JMH would measure it
                    long a = poolDeath(p), f = floorWake(raw, 0), w = floorWake(raw, 100);
                    if (i >= 0) {
                        pool[i] = a;
                        floor[i] = f;
                        same[i] = w;
                    }
                }
            }
        }
        return new Death(percentiles(pool), percentiles(floor), percentiles(same), samples, warmup);
    }

    private static long poolDeath(Pool<Object, JsonRpc.Call, JsonRpc.Reply, Void> p) throws Throwable {
        int pid = -1;
        long until = System.nanoTime() + 10_000_000_000L;
        while (pid <= 0) {
            var w = p.workers().get(0);
            if (w.state().equals("idle")) {
                pid = w.pid();
            } else if (System.nanoTime() > until) {
                throw new IllegalStateException("no worker came up: " + w);
            } else {
                Thread.sleep(1);
            }
        }
        CountDownLatch all = new CountDownLatch(100);
        AtomicLong last = new AtomicLong();
        long round = ROUNDS.incrementAndGet(); // new tasks each round: a task that killed two workers is quarantined
        for (int i = 0; i < 100; i++) {
            p.submit("r" + round + "t" + i).whenComplete((r, e) -> {
                if (!(r instanceof Result.WorkerDied<?>)) {
                    throw new IllegalStateException("expected WorkerDied, got " + r);
                }
                last.accumulateAndGet(System.nanoTime(), Math::max);
                all.countDown();
            });
        }
        while (p.workers().get(0).pending() < 100) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("the requests never reached the worker: " + p.workers());
            }
            Thread.onSpinWait();
        }
        long t0 = System.nanoTime();
        RawSpawn.kill(pid, 9);
        if (!all.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("pending requests did not fail");
        }
        return last.get() - t0;
    }

    /**
     * kill(2) of a sleeping process to the wake-up of a thread blocked in poll(2) on its pidfd ({@code futures} 0),
     * or, the floor of the same work, to that thread's failing of {@code futures} futures with the same dependent
     * stage as the pool's, after it reaped the process.
     */
    private static long floorWake(RawSpawn raw, int futures) throws Throwable {
        int[] child = futures == 0 ? new int[] {raw.spawn(), -1, -1, -1} : raw.spawnWithPipes();
        int pid = child[0];
        int pidfd = RawSpawn.pidfdOpen(pid);
        AtomicLong woke = new AtomicLong(), last = new AtomicLong();
        List<java.util.concurrent.CompletableFuture<Object>> pending = new ArrayList<>();
        CountDownLatch all = new CountDownLatch(futures);
        for (int i = 0; i < futures; i++) {
            var f = new java.util.concurrent.CompletableFuture<Object>();
            f.whenComplete((r, e) -> {
                last.accumulateAndGet(System.nanoTime(), Math::max);
                all.countDown();
            });
            pending.add(f);
        }
        CountDownLatch ready = new CountDownLatch(1), done = new CountDownLatch(1);
        Thread waiter = new Thread(() -> {
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                // The pidfd and, for the same work, the worker's stdout and stderr: the exit closes those first, as it
                // does a pool worker's, but only the pidfd says the worker is dead.
                MemorySegment fds = arena.allocate(32);
                int[] watched = {pidfd, child[2], child[3], child[1]};
                for (int k = 0; k < 4; k++) {
                    fds.set(ValueLayout.JAVA_INT, k * 8L, watched[k]); // -1: ignored by poll
                    // POLLIN; stdin's write end asks for nothing, and gets POLLERR when the worker's end closes
                    fds.set(ValueLayout.JAVA_SHORT, k * 8L + 4, (short) (k == 3 ? 0 : 1));
                }
                ready.countDown();
                while (true) {
                    int n = (int) POLL.invokeExact(fds, 4L, -1);
                    if (n < 0) {
                        throw new IllegalStateException("poll failed");
                    }
                    if (fds.get(ValueLayout.JAVA_SHORT, 6) != 0) {
                        break; // the pidfd: dead
                    }
                    for (int k = 1; k < 4; k++) {
                        if (fds.get(ValueLayout.JAVA_SHORT, k * 8L + 6) != 0) {
                            fds.set(ValueLayout.JAVA_INT, k * 8L, -1); // end of file: nothing more from it
                        }
                    }
                }
                woke.set(System.nanoTime());
                raw.reap(pid);
                Object failure = "died";
                for (var f : pending) {
                    f.complete(failure);
                }
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                done.countDown();
            }
        });
        waiter.start();
        ready.await();
        Thread.sleep(2); // the waiter is blocked in poll by now
        long t0 = System.nanoTime();
        RawSpawn.kill(pid, 9);
        done.await();
        all.await();
        for (int fd : new int[] {pidfd, child[1], child[2], child[3]}) {
            if (fd >= 0) {
                RawSpawn.closeFd(fd);
            }
        }
        return (futures == 0 ? woke.get() : last.get()) - t0;
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** p50, p90 and p99 of nanosecond samples, in µs (the figure classes share these). */
    static double[] percentiles(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return new double[] {s[s.length / 2] / 1e3, s[(int) (s.length * 0.9)] / 1e3,
            s[Math.min(s.length - 1, (int) (s.length * 0.99))] / 1e3};
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }


    private static String z3Version() {
        try {
            Process p = new ProcessBuilder("z3", "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            p.waitFor();
            return v.replace("Z3 version ", "");
        } catch (Exception e) {
            return "(version unknown)";
        }
    }
}
