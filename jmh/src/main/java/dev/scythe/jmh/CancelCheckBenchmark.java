package dev.scythe.jmh;

import dev.scythe.CancelToken;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of {@link CancelToken#isCancelled()}, an acquire load of the native word, against the floor of an
 * acquire load of a Java field (what a pure-Java token would cost). Nanoseconds per check.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CancelCheckBenchmark {
    private CancelToken token;
    private final AtomicLong javaWord = new AtomicLong();

    @Setup
    public void setUp() {
        token = CancelToken.create();
    }

    @Benchmark
    public boolean scytheIsCancelled() {
        return token.isCancelled();
    }

    @Benchmark
    public boolean javaAcquireFloor() {
        return javaWord.getAcquire() != 0;
    }
}
