package dev.scythe.jmh;

import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
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

/**
 * Sequential spawn and reap of /bin/true in its own session with piped stdio: Scythe against ProcessBuilder and
 * against the raw FFM posix_spawn + waitpid floor, in one run. Throughput in operations per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SpawnBenchmark {
    private Supervisor supervisor;
    private ProcessSpec spec, cgroupSpec;
    private RawSpawn raw;
    private ProcessBuilder builder;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        supervisor = new Supervisor();
        spec = ProcessSpec.of("/bin/true"); // stdin from /dev/null would be cheaper; pipes for all three as the others
        spec = spec.toBuilder().stdin(dev.scythe.Redirect.bytes(new byte[0]))
                .containment(dev.scythe.Containment.SESSION).build();
        cgroupSpec = spec.toBuilder().containment(dev.scythe.Containment.CGROUP).build();
        raw = new RawSpawn("/bin/true");
        builder = new ProcessBuilder("/bin/true");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        supervisor.close();
        raw.close();
    }

    @Benchmark
    public Outcome scythe() throws InterruptedException {
        Outcome o = supervisor.start(spec).await();
        if (!(o instanceof Outcome.Success)) {
            throw new IllegalStateException(o.toString());
        }
        return o;
    }

    /** The cgroup level: clone into a fresh cgroup leaf, cgroup.kill and rmdir at the end (where the machine can). */
    @Benchmark
    public Outcome scytheCgroup() throws InterruptedException {
        Outcome o = supervisor.start(cgroupSpec).await();
        if (!(o instanceof Outcome.Success)) {
            throw new IllegalStateException(o.toString());
        }
        return o;
    }

    @Benchmark
    public int rawFfmFloor() throws Throwable {
        int status = raw.runOnce();
        if (status != 0) {
            throw new IllegalStateException("status " + status);
        }
        return status;
    }

    @Benchmark
    public int ztExec() throws Exception {
        int status = new org.zeroturnaround.exec.ProcessExecutor().command("/bin/true").execute().getExitValue();
        if (status != 0) {
            throw new IllegalStateException("status " + status);
        }
        return status;
    }

    @Benchmark
    public int commonsExec() throws Exception {
        org.apache.commons.exec.DefaultExecutor executor = org.apache.commons.exec.DefaultExecutor.builder().get();
        return executor.execute(new org.apache.commons.exec.CommandLine("/bin/true"));
    }

    @Benchmark
    public int nuProcess() throws Exception {
        com.zaxxer.nuprocess.NuProcessBuilder b = new com.zaxxer.nuprocess.NuProcessBuilder(
                java.util.List.of("/bin/true"), new java.util.HashMap<>(System.getenv()));
        b.setProcessListener(new com.zaxxer.nuprocess.NuAbstractProcessHandler() {});
        com.zaxxer.nuprocess.NuProcess p = b.start();
        int status = p.waitFor(0, TimeUnit.SECONDS);
        if (status != 0) {
            throw new IllegalStateException("status " + status);
        }
        return status;
    }

    @Benchmark
    public int processBuilder() throws Exception {
        Process p = builder.start();
        int status = p.waitFor();
        p.getInputStream().close();
        p.getErrorStream().close();
        p.getOutputStream().close();
        if (status != 0) {
            throw new IllegalStateException("status " + status);
        }
        return status;
    }
}
