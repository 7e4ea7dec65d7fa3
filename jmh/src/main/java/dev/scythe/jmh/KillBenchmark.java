package dev.scythe.jmh;

import dev.scythe.Containment;
import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Kill-to-reaped latency: Scythe's cancel, from the call to the caller's wake-up with the outcome, against two floors
 * through FFM: kill(2) and waitpid(2) on one thread (the exit wakes the killer itself), and the floor of the same work,
 * kill(2) on this thread while a reaper thread blocked in poll(2) on the pidfd reaps the process and completes a
 * future this thread waits on (a supervisor's two hand-offs, without a supervisor).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class KillBenchmark {
    private Load load;
    private Supervisor supervisor;
    private RawSpawn raw;
    /** Other live jobs of the same supervisor while the measured one is killed: the figure must not grow with them. */
    @Param({"10", "10000"})
    public int otherJobs;
    private Job job, cgroupJob;
    private int rawPid;
    private int reaperPid;
    private CompletableFuture<Integer> reaped;
    private final java.util.concurrent.BlockingQueue<Runnable> reaperQueue =
            new java.util.concurrent.LinkedBlockingQueue<>();
    private Thread reaper;

    @Setup(Level.Trial)
    public void open() throws Throwable {
        load = Load.open(otherJobs);
        supervisor = load.supervisor;
        raw = new RawSpawn("/bin/sleep", "300");
        reaper = RawSpawn.serve(reaperQueue, "raw-reaper");
    }

    @TearDown(Level.Trial)
    public void close() {
        load.close();
        reaper.interrupt();
        raw.close();
    }

    @Setup(Level.Invocation)
    public void start() throws Throwable {
        job = supervisor.start(ProcessSpec.builder("/bin/sleep", "300").grace(Duration.ZERO)
                .containment(Containment.SESSION).build());
        cgroupJob = supervisor.start(ProcessSpec.builder("/bin/sleep", "300").grace(Duration.ZERO)
                .containment(Containment.BEST).build());
        rawPid = raw.spawn();
        reaperPid = raw.spawn();
        int pid = reaperPid, pidfd = RawSpawn.pidfdOpen(pid);
        CompletableFuture<Integer> f = new CompletableFuture<>();
        reaped = f;
        reaperQueue.put(() -> {
            try {
                RawSpawn.awaitReadable(pidfd);
                raw.reap(pid);
                RawSpawn.closeFd(pidfd);
                f.complete(pid);
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        Thread.sleep(2); // all exec'd and asleep, the reaper blocked in poll
    }

    /** Ends whichever of the two the measured method left running, outside the measurement. */
    @TearDown(Level.Invocation)
    public void cleanUp() throws Throwable {
        if (rawPid > 0) {
            raw.killAndReap(rawPid);
            rawPid = 0;
        }
        if (reaperPid > 0) {
            RawSpawn.kill(reaperPid, 9);
            reaped.join();
            reaperPid = 0;
        }
        job.cancel();
        job.await();
        cgroupJob.cancel();
        cgroupJob.await();
    }

    @Benchmark
    public Outcome scytheCancelToReaped() throws InterruptedException {
        return cancelled(job);
    }

    /** Cancels and awaits; anything but a cancel of a started job would be a figure of nothing. */
    private static Outcome cancelled(Job j) throws InterruptedException {
        if (!j.cancel()) {
            throw new IllegalStateException("the job was not running: " + j.await());
        }
        Outcome o = j.await();
        if (!(o instanceof Outcome.Cancelled)) {
            throw new IllegalStateException("expected a cancel, got " + o);
        }
        return o;
    }

    /** The same at the default containment: a cgroup leaf where the machine offers one (cgroup.kill, then empty). */
    @Benchmark
    public Outcome scytheCancelToReapedCgroup() throws InterruptedException {
        return cancelled(cgroupJob);
    }

    @Benchmark
    public int rawKillReaperThreadFloor() throws Throwable {
        RawSpawn.kill(reaperPid, 9);
        int pid = reaped.join();
        reaperPid = 0;
        return pid;
    }

    @Benchmark
    public int rawKillWaitpidFloor() throws Throwable {
        raw.killAndReap(rawPid);
        int pid = rawPid;
        rawPid = 0;
        return pid;
    }
}
