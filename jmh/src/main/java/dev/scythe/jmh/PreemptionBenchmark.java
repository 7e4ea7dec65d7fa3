package dev.scythe.jmh;

import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Preemption latency of a portfolio race with 8 losers: from releasing the winner (SIGCONT to a winner that stopped
 * itself just before exiting 0) until every loser is reaped. Three designs in one run:
 * <ul>
 *   <li>{@code scythe}: a {@link Race}; with {@code decider=exitCode} the winner's exit is claimed in the native
 *       loop, which kills the losers' sessions in the same wake-up; with {@code decider=javaPredicate} the claim
 *       waits for the loop thread to run a Java predicate on the winner's outcome;</li>
 *   <li>{@code pollTick100ms}: the reference design, losers watched by threads that poll a shared flag every
 *       100 ms and then kill their own process (ProcessBuilder);</li>
 *   <li>{@code winnerAloneFloor}: the winner released with no losers at all: the floor both include.</li>
 * </ul>
 * Each with 10 and with 10,000 other live jobs in the same supervisor (the raw floor with as many other live
 * processes, those jobs): the figures must not grow with them. Sample mode: JMH reports p50 and p99 of each.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class PreemptionBenchmark {
    static final int LOSERS = 8;
    private static final MethodHandle KILL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("kill").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final int SIGCONT = 18;
    private static final String STOPPED_WINNER = "kill -STOP $$; exit 0";

    /**
     * The supervisor, with other live jobs while the races run (see {@link Load}). A state of its own, which every
     * other state takes: were it this class's, JMH would make two instances of this class for a benchmark whose state
     * also takes it, and start two loads (20,000 jobs: beyond the fd limit).
     */
    @State(Scope.Benchmark)
    public static class Others {
        @Param({"10", "10000"})
        public int otherJobs;
        Load load;
        Supervisor supervisor;

        @Setup(Level.Trial)
        public void open() {
            load = Load.open(otherJobs);
            supervisor = load.supervisor;
        }

        @TearDown(Level.Trial)
        public void close() {
            load.close();
        }
    }

    /** Where a trial of the race with {@code decider} and {@code otherJobs} leaves its own telemetry. */
    static Path telemetry(String decider, int otherJobs) {
        return Path.of(System.getProperty("java.io.tmpdir"), "scythe-preemption-" + decider + "-" + otherJobs + ".txt");
    }

    static void cont(long pid) throws Throwable {
        if ((int) KILL.invokeExact((int) pid, SIGCONT) != 0) {
            throw new IllegalStateException("kill(" + pid + ", SIGCONT) failed");
        }
    }

    /**
     * Waits (up to 10 s) until process {@code pid} has stopped itself (state T). By its pid: a search of this JVM's
     * children for it would read every other job's too, 10,000 of them under load, and that scan (a third of the
     * machine's CPU, in perf) ran right before each timed call of Scythe's designs, not of the floor's.
     */
    static void awaitStopped(long pid) throws IOException, InterruptedException {
        long until = System.nanoTime() + 10_000_000_000L;
        while (!Files.readString(Path.of("/proc/" + pid + "/stat")).split("\\) ")[1].startsWith("T")) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("process " + pid + " never stopped itself");
            }
            Thread.sleep(1);
        }
    }

    /** A winner that writes its pid to the file named by its first argument, then stops itself until released. */
    static ProcessSpec.Builder reportingWinner(Path pidFile) {
        return ProcessSpec.builder("sh", "-c", "echo $$ >\"$0\"; " + STOPPED_WINNER, pidFile.toString());
    }

    /** The pid a {@link #reportingWinner} wrote, once it wrote it, waiting up to 10 s. */
    static long reportedPid(Path pidFile) throws IOException, InterruptedException {
        long until = System.nanoTime() + 10_000_000_000L;
        while (true) {
            String s = Files.exists(pidFile) ? Files.readString(pidFile).strip() : "";
            if (!s.isEmpty()) {
                Files.delete(pidFile);
                return Long.parseLong(s);
            }
            if (System.nanoTime() > until) {
                throw new IllegalStateException("the winner never wrote its pid to " + pidFile);
            }
            Thread.sleep(1);
        }
    }

    // ---- Scythe ----

    @State(Scope.Thread)
    public static class ScytheRace {
        /**
         * exitCode: success decided by exit status, in the native loop; javaPredicate: by a Java predicate; both at the
         * session level. exitCodeCgroup: by exit status, with every entrant in a cgroup leaf of its own (the default
         * where the machine allows it), whose result waits until each leaf is empty.
         */
        @Param({"exitCode", "javaPredicate", "exitCodeCgroup"})
        public String decider;
        CompletableFuture<RaceResult> race;
        long winnerPid;
        final Path pidFile = Path.of(System.getProperty("java.io.tmpdir"), "scythe-preemption-winner-"
                + ProcessHandle.current().pid() + "-" + System.identityHashCode(this) + ".pid");
        /** The race's own telemetry: winner's exit to last loser reaped, from the loop's timestamps. */
        final List<Long> preemptionNanos = new ArrayList<>();
        int otherJobs;

        @TearDown(Level.Trial)
        public void report() throws IOException {
            Files.writeString(telemetry(decider, otherJobs),
                    String.join("\n", preemptionNanos.stream().map(String::valueOf).toList()));
            System.out.println(Telemetry.summary(preemptionNanos));
        }

        @Setup(Level.Invocation)
        public void start(Others b) throws Exception {
            otherJobs = b.otherJobs;
            dev.scythe.Containment level = decider.equals("exitCodeCgroup") ? dev.scythe.Containment.CGROUP
                    : dev.scythe.Containment.SESSION;
            Race.Builder r = Race.builder().entrant("winner", reportingWinner(pidFile).containment(level).build());
            if (decider.equals("javaPredicate")) {
                r.success(SuccessCriterion.matching(f -> f.outcome() instanceof Outcome.Success, "exit 0, in Java"));
            }
            for (int i = 0; i < LOSERS; i++) {
                r.entrant("loser" + i, ProcessSpec.builder("sleep", "300").containment(level).build());
            }
            race = r.build().start(b.supervisor);
            winnerPid = reportedPid(pidFile);
            awaitStopped(winnerPid);
            Thread.sleep(5); // let every loser's exec finish
        }
    }

    @Benchmark
    public RaceResult scythe(ScytheRace s) throws Throwable {
        cont(s.winnerPid);
        RaceResult r = s.race.get();
        if (!r.won() || !(r.entrants().get(LOSERS).outcome() instanceof Outcome.Preempted)) {
            throw new IllegalStateException("unexpected race result " + r);
        }
        s.preemptionNanos.add(r.preemptionNanos().orElseThrow());
        return r;
    }

    // ---- the reference design: poll a flag every 100 ms, then kill your own pid ----

    @State(Scope.Thread)
    public static class PollTickRace {
        Process winner;
        final List<Thread> pollers = new ArrayList<>();
        CountDownLatch losersGone;

        @Setup(Level.Invocation)
        public void start(Others others) throws Exception { // others: the load, set up for this trial too
            AtomicBoolean won = new AtomicBoolean();
            losersGone = new CountDownLatch(LOSERS);
            pollers.clear();
            for (int i = 0; i < LOSERS; i++) {
                Process loser = new ProcessBuilder("sleep", "300").start();
                Thread t = new Thread(() -> {
                    try {
                        while (!won.get()) {
                            Thread.sleep(100);
                        }
                        loser.destroyForcibly(); // its own pid only, as in the reference design
                        loser.waitFor();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    losersGone.countDown();
                });
                t.start();
                pollers.add(t);
            }
            winner = new ProcessBuilder("sh", "-c", STOPPED_WINNER).start();
            winner.onExit().thenRun(() -> won.set(winner.exitValue() == 0));
            awaitStopped(winner.pid());
            // The winner's exit falls at a random point of the losers' polling period, as it would in a farm.
            Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextInt(100));
        }
    }

    @Benchmark
    public long pollTick100ms(PollTickRace p) throws Throwable {
        cont(p.winner.pid());
        p.losersGone.await();
        for (Thread t : p.pollers) {
            t.join();
        }
        return p.winner.pid();
    }

    // ---- the floor of the same work, without a supervisor ----

    /**
     * The same race by hand: the winner and the losers posix_spawn'ed with SETSID, a thread blocked in poll(2) on the
     * winner's pidfd reaps it, kills each loser's session (killpg), waits on the losers' pidfds, reaps them all and
     * completes the future the benchmark thread waits on: the hand-offs and the work of Scythe's race, nothing else.
     */
    @State(Scope.Thread)
    public static class RawRace {
        RawSpawn winners, losers;
        int winner;
        int[] loserPids = new int[LOSERS];
        CompletableFuture<Integer> done;
        final java.util.concurrent.BlockingQueue<Runnable> work = new java.util.concurrent.LinkedBlockingQueue<>();
        Thread referee;

        @Setup(Level.Trial)
        public void open(Others others) throws Throwable { // others: as many other live processes as Scythe has
            winners = new RawSpawn("/bin/sh", "-c", STOPPED_WINNER);
            losers = new RawSpawn("/bin/sleep", "300");
            referee = RawSpawn.serve(work, "raw-referee");
        }

        @TearDown(Level.Trial)
        public void close() {
            referee.interrupt();
            winners.close();
            losers.close();
        }

        @Setup(Level.Invocation)
        public void start() throws Throwable {
            int[] fds = new int[LOSERS];
            for (int i = 0; i < LOSERS; i++) {
                loserPids[i] = losers.spawn();
                fds[i] = RawSpawn.pidfdOpen(loserPids[i]);
            }
            winner = winners.spawn();
            int w = winner, wfd = RawSpawn.pidfdOpen(w);
            int[] pids = loserPids.clone();
            CompletableFuture<Integer> f = new CompletableFuture<>();
            done = f;
            work.put(() -> {
                try {
                    RawSpawn.awaitReadable(wfd);
                    int status = winners.reapStatus(w);
                    if (status != 0) {
                        throw new IllegalStateException("the winner exited with status " + status);
                    }
                    for (int pid : pids) {
                        RawSpawn.kill(-pid, 9); // the loser's session: its group, led by it
                    }
                    for (int i = 0; i < LOSERS; i++) {
                        RawSpawn.awaitReadable(fds[i]);
                        losers.reap(pids[i]);
                        RawSpawn.closeFd(fds[i]);
                    }
                    RawSpawn.closeFd(wfd);
                    f.complete(w);
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
            awaitStopped(w);
            Thread.sleep(5); // let every loser's exec finish, as for Scythe's race
        }
    }

    @Benchmark
    public int rawSameWorkFloor(RawRace r) throws Throwable {
        cont(r.winner);
        return r.done.join();
    }

    // ---- floor: the winner alone ----

    @State(Scope.Thread)
    public static class WinnerAlone {
        CompletableFuture<Outcome> exit;
        long pid;

        @Setup(Level.Invocation)
        public void start(Others b) throws Exception {
            var job = b.supervisor.start(ProcessSpec.builder("sh", "-c", STOPPED_WINNER)
                    .containment(dev.scythe.Containment.SESSION).build());
            exit = job.onExit();
            pid = job.pid(); // the sh itself stops
            awaitStopped(pid);
        }
    }

    @Benchmark
    public Outcome winnerAloneFloor(WinnerAlone w) throws Throwable {
        cont(w.pid);
        return w.exit.get();
    }
}
