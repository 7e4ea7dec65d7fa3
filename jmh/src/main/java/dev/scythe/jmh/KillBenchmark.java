package dev.scythe.jmh;

import dev.scythe.Containment;
import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Kill-to-reaped latency: Scythe's cancel through the loop against kill(2) + waitpid(2) through FFM. */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class KillBenchmark {
    private Supervisor supervisor;
    private RawSpawn raw;
    private Job job;
    private int rawPid;

    @Setup(Level.Trial)
    public void open() throws Throwable {
        supervisor = new Supervisor();
        raw = new RawSpawn("/bin/sleep", "300");
    }

    @TearDown(Level.Trial)
    public void close() {
        supervisor.close();
        raw.close();
    }

    @Setup(Level.Invocation)
    public void start() throws Throwable {
        job = supervisor.start(ProcessSpec.builder("/bin/sleep", "300").grace(Duration.ZERO)
                .containment(Containment.SESSION).build());
        rawPid = raw.spawn();
        Thread.sleep(2); // both exec'd and asleep
    }

    /** Ends whichever of the two the measured method left running, outside the measurement. */
    @TearDown(Level.Invocation)
    public void cleanUp() throws Throwable {
        if (rawPid > 0) {
            raw.killAndReap(rawPid);
            rawPid = 0;
        }
        job.cancel();
        job.await();
    }

    @Benchmark
    public Outcome scytheCancelToReaped() throws InterruptedException {
        job.cancel();
        return job.await();
    }

    @Benchmark
    public int rawKillWaitpidFloor() throws Throwable {
        raw.killAndReap(rawPid);
        int pid = rawPid;
        rawPid = 0;
        return pid;
    }
}
