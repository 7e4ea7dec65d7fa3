package dev.scythe.jmh;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The CLI's start-up, from outside: wall time of {@code scripts/scythe run -- true} against {@code java -version} of
 * the same JDK, in alternating pairs so that a drift of the machine's speed hits both; medians, and the median of
 * the per-pair ratios. Also the jar run without its AOT cache. Usage: {@code scripts/bench --startup}.
 */
public final class StartupFigures {
    private StartupFigures() {}

    static String section(int pairs) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path jar = Path.of("java/cli/target/scythe-cli.jar").toAbsolutePath();
        List<String> launcher = List.of("scripts/scythe", "run", "--", "true");
        List<String> plain = List.of(java, "--enable-native-access=ALL-UNNAMED", "-jar", jar.toString(), "run", "--",
                "true");
        List<String> floor = List.of(java, "-version");
        for (int i = 0; i < 3; i++) { // warm-up: page cache, the native files' cache directory
            time(launcher);
            time(plain);
            time(floor);
        }
        double[] a = new double[pairs], b = new double[pairs], f = new double[pairs], ratio = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            a[i] = time(launcher);
            f[i] = time(floor);
            b[i] = time(plain);
            ratio[i] = a[i] / f[i];
        }
        boolean aot = Files.exists(jar.resolveSibling("scythe-cli.aot"));
        return String.format(Locale.ROOT, "%n## CLI start-up%n%n`StartupFigures` (`scripts/bench --startup`): wall "
                + "time of whole processes, %d alternating rounds, medians; the floor is `java -version` of the same "
                + "JDK (%s). `scripts/scythe` starts the CLI jar from its AOT cache (%s; decision 0024), and `run` and "
                + "`race` with the JIT's first tier only (decision 0029).%n%n"
                + "| command | wall ms | ratio to `java -version` |%n|---|---:|---:|%n"
                + "| `java -version` (floor) | %.0f | 1.0 |%n"
                + "| `scripts/scythe run -- true` | %.0f | %.1f (median of the per-round ratios; target 2.5) |%n"
                + "| `java -jar scythe-cli.jar run -- true` (no AOT cache) | %.0f | %.1f |%n",
                pairs, Runtime.version(), aot ? "built by `mvn package`" : "absent: this JDK makes none",
                median(f), median(a), median(ratio), median(b), median(b) / median(f));
    }

    private static double time(List<String> cmd) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(cmd + " exited " + p.exitValue());
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
