package dev.scythe.jmh;

import java.nio.file.Files;
import java.nio.file.Path;
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
        // The JVM's own floors, from an AOT cache trained here on the same class path (JEP 483, 514), first JIT tier
        // as for `run`: an empty main, and a main that makes one FFM downcall.
        Path dir = Files.createTempDirectory("scythe-startup-");
        String cp = System.getProperty("java.class.path");
        Path cache = dir.resolve("floor.aot");
        List<String> jvm = List.of(java, "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED", "-cp", cp);
        List<String> emptyMain, ffmMain;
        try {
            var train = new java.util.ArrayList<>(jvm);
            train.addAll(1, List.of("-XX:AOTCacheOutput=" + cache, "-Xlog:aot=off", "-Xlog:cds=off"));
            train.addAll(List.of(StartupFloor.class.getName(), "ffm"));
            time(train);
            var withCache = new java.util.ArrayList<>(jvm);
            if (Files.exists(cache)) {
                withCache.addAll(1, List.of("-XX:AOTCache=" + cache, "-Xlog:aot=off", "-Xlog:cds=off"));
            }
            withCache.add(StartupFloor.class.getName());
            emptyMain = List.copyOf(withCache);
            withCache.add("ffm");
            ffmMain = List.copyOf(withCache);
        } catch (IllegalStateException e) { // a JDK without AOT caches: the floors without one
            emptyMain = new java.util.ArrayList<>(jvm);
            emptyMain.add(StartupFloor.class.getName());
            ffmMain = new java.util.ArrayList<>(emptyMain);
            ffmMain.add("ffm");
        }
        double[] a = new double[pairs], b = new double[pairs], f = new double[pairs], ratio = new double[pairs];
        double[] e = new double[pairs], ffm = new double[pairs], ffmRatio = new double[pairs];
        try {
            for (int i = 0; i < 3; i++) { // warm-up: page cache, the native files' cache directory
                time(launcher);
                time(plain);
                time(floor);
                time(emptyMain);
                time(ffmMain);
            }
            for (int i = 0; i < pairs; i++) {
                a[i] = time(launcher);
                f[i] = time(floor);
                b[i] = time(plain);
                e[i] = time(emptyMain);
                ffm[i] = time(ffmMain);
                ratio[i] = a[i] / f[i];
                ffmRatio[i] = ffm[i] / f[i];
            }
        } finally {
            Files.deleteIfExists(cache);
            Files.deleteIfExists(dir);
        }
        boolean aot = Files.exists(jar.resolveSibling("scythe-cli.aot"));
        return String.format(Locale.ROOT, "%n## CLI start-up%n%n`StartupFigures` (`scripts/bench --startup`): wall "
                + "time of whole processes, %d alternating rounds, medians; the floor is `java -version` of the same "
                + "JDK (%s). `scripts/scythe` starts the CLI jar from its AOT cache (%s; decision 0024), and `run` and "
                + "`race` with the JIT's first tier only (decision 0029).%n%n"
                + "| command | wall ms | ratio to `java -version` |%n|---|---:|---:|%n"
                + "| `java -version` (floor) | %.0f | 1.0 |%n"
                + "| `scripts/scythe run -- true` | %.0f | %.1f (median of the per-round ratios; target 2.5) |%n"
                + "| `java -jar scythe-cli.jar run -- true` (no AOT cache) | %.0f | %.1f |%n"
                + "| an empty `main` (`StartupFloor`, its own AOT cache) | %.0f | %.1f |%n"
                + "| a `main` whose only work is one FFM downcall (`StartupFloor ffm`, its own AOT cache) | %.0f | "
                + "%.1f (median of the per-round ratios) |%n",
                pairs, Runtime.version(), aot ? "built by `mvn package`" : "absent: this JDK makes none",
                PoolFigures.median(f), PoolFigures.median(a), PoolFigures.median(ratio), PoolFigures.median(b), PoolFigures.median(b) / PoolFigures.median(f), PoolFigures.median(e),
                PoolFigures.median(e) / PoolFigures.median(f), PoolFigures.median(ffm), PoolFigures.median(ffmRatio));
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
}
