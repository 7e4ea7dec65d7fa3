package dev.scythe.jmh;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * Stall detection: a job makes progress once, then hangs; with a 100 ms window it must be killed as Stalled. The
 * figure that matters is the job's own telemetry, from the window's end (last progress + window) to the session's
 * reap, per probe; it is written at the end of the trial and summarised in docs/benchmarks.md. The JMH time of an
 * operation is spawn + window + detection.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 2, time = 6)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class StallBenchmark {
    static final Duration WINDOW = Duration.ofMillis(100);

    @Param({"tree", "output", "heartbeat"})
    public String probe;

    private Supervisor supervisor;
    private Path dir;
    private ProcessSpec spec;
    private final List<Long> lateNanos = new ArrayList<>();
    private int round;

    @Setup(Level.Trial)
    public void open() throws IOException {
        supervisor = new Supervisor();
        dir = Files.createTempDirectory("scythe-stall-bench");
    }

    @Setup(Level.Invocation)
    public void prepare() throws IOException {
        ProcessSpec.Builder b;
        switch (probe) {
            case "tree" -> b = ProcessSpec.builder("sh", "-c", "touch " + dir + "/x" + (round++) + "; sleep 300")
                    .progressTree(dir);
            case "output" -> b = ProcessSpec.builder("sh", "-c", "echo progress; sleep 300").progressOutput("^progress");
            default -> {
                Path beat = dir.resolve("beat" + (round++));
                b = ProcessSpec.builder("sh", "-c", "printf '\\001' | dd of=" + beat + " conv=notrunc status=none; "
                        + "sleep 300").heartbeat(beat);
            }
        }
        spec = b.stall(WINDOW).build();
    }

    @Benchmark
    public Outcome stalled() throws InterruptedException {
        Job job = supervisor.start(spec);
        Outcome o = job.await();
        if (!(o instanceof Outcome.Stalled)) {
            throw new IllegalStateException("expected a stall: " + o);
        }
        lateNanos.add(job.reapedNanos() - (job.lastProgressNanos() + WINDOW.toNanos()));
        return o;
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        supervisor.close();
        Files.writeString(Path.of(System.getProperty("java.io.tmpdir"), "scythe-stall-" + probe + ".txt"),
                String.join("\n", lateNanos.stream().map(String::valueOf).toList()));
        System.out.println("stall detection (" + probe + "): " + Telemetry.summary(lateNanos)
                .replace("preemption telemetry (winner exit -> last loser reaped): ", ""));
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
