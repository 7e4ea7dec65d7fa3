package dev.scythe.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every benchmark of the report in one go and rewrites docs/benchmarks.md (the JMH benchmarks, LiveChildren,
 * TreeWatchCost, StartupFigures, PoolFigures, ClusterFigures, PortfolioFigures), or one section of it in place.
 * Usage: {@code BenchmarkReport [--quick] [--pool | --startup | --preemption | --kill | --race-cli | --tokens | --cluster
 * | --portfolio] [OUT.md]}, OUT.md
 * being docs/benchmarks.md unless given.
 */
public final class BenchmarkReport {
    private BenchmarkReport() {}

    public static void main(String[] args) throws Throwable {
        Path out = Path.of(java.util.Arrays.stream(args).filter(a -> !a.startsWith("--")).findFirst()
                .orElse("docs/benchmarks.md"));
        boolean quick = java.util.Arrays.asList(args).contains("--quick");
        if (java.util.Arrays.asList(args).contains("--pool")) { // only the worker pools' section, in place
            rewrite(out, "## Worker pools", quick ? PoolFigures.section(3, 100, 100) : PoolFigures.section(7));
            return;
        }
        if (java.util.Arrays.asList(args).contains("--startup")) { // only the CLI's start-up, in place
            rewrite(out, "## CLI start-up", StartupFigures.section(quick ? 5 : 15));
            return;
        }
        if (java.util.Arrays.asList(args).contains("--portfolio")) { // only the portfolios on the corpus, in place
            rewrite(out, "## Portfolio on the corpus", PortfolioFigures.section(quick));
            return;
        }
        if (java.util.Arrays.asList(args).contains("--cluster")) { // only the races and the corpus across a cluster
            rewrite(out, "## Across a cluster", ClusterFigures.section(quick));
            return;
        }
        if (java.util.Arrays.asList(args).contains("--tokens")) { // only shared tokens and the Python binding
            rewrite(out, "## Shared tokens and the Python binding", SharedTokenFigures.section(quick ? 10 : 30, 3));
            return;
        }
        if (java.util.Arrays.asList(args).contains("--race-cli")) { // only the race through the CLI, in place
            rewrite(out, "## Race preemption through the CLI", RaceCliFigures.section(quick ? 5 : 15));
            return;
        }
        if (java.util.Arrays.asList(args).contains("--preemption")) {
            preemptionOnly(out, quick);
            return;
        }
        if (java.util.Arrays.asList(args).contains("--kill")) {
            killOnly(out, quick);
            return;
        }
        Map<String, Result<?>> byName = timed("JMH", () -> jmh(quick));
        int children = 1000;
        long[] sc1k = timed("LiveChildren 1,000 Scythe", () -> live(children, "scythe"));
        long[] pb1k = timed("LiveChildren 1,000 ProcessBuilder", () -> live(children, "processbuilder"));
        long[] sc10k = timed("LiveChildren 10,000 Scythe", () -> live(10_000, "scythe"));
        // ProcessBuilder needs minutes for 10,000 children (a reaper thread each): the full run only.
        long[] pb10k = quick ? null : timed("LiveChildren 10,000 ProcessBuilder", () -> live(10_000, "processbuilder"));
        int[] threads = {(int) sc1k[0], (int) sc1k[1], (int) pb1k[0]};
        double[] inotify = timed("TreeWatchCost inotify", () -> TreeWatchCost.measure(false));
        double[] walk = timed("TreeWatchCost walk", () -> TreeWatchCost.measure(true));
        String many = "\nWith more children: each figure from a fresh JVM per tool and count, with a fixed, pre-touched "
                + "512 MiB heap (so resident memory shows what lives outside the heap: thread stacks, native memory) and "
                + "the heap in use after a GC; all against the same JVM before the children. This machine's pid_max is "
                + Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim() + ", and threads count against it.\n"
                + String.format(Locale.ROOT, "%n| live children | tool | extra JVM threads | of them the tool's own "
                + "| extra RSS outside the heap, MiB | extra heap in use, MiB |%n|---:|---|---:|---:|---:|---:|%n%s%s%s%s",
                row("1,000", "Scythe", sc1k), row("1,000", "ProcessBuilder", pb1k), row("10,000", "Scythe", sc10k),
                pb10k == null ? "| 10,000 | ProcessBuilder | (full run only) | | | |\n"
                        : row("10,000", "ProcessBuilder", pb10k));
        String raceCli = timed("RaceCliFigures", () -> RaceCliFigures.section(quick ? 5 : 15));
        String startup = timed("StartupFigures", () -> StartupFigures.section(quick ? 5 : 15));
        String pools = timed("PoolFigures", () -> quick ? PoolFigures.section(3, 100, 100) : PoolFigures.section(7));
        String tokens = timed("SharedTokenFigures", () -> SharedTokenFigures.section(quick ? 10 : 30, 3));
        String cluster = timed("ClusterFigures", () -> ClusterFigures.section(quick));
        String portfolio = timed("PortfolioFigures", () -> PortfolioFigures.section(quick));
        Files.writeString(out, markdown(byName, children, threads, quick).replace("<<MANY>>", many)
                + stall(byName, inotify, walk) + kill(byName) + raceCli + startup + pools + tokens + cluster + portfolio);
        System.out.println("wrote " + out.toAbsolutePath());
    }

    /** A part of the report's run, which may throw anything. */
    private interface Part<T> {
        T run() throws Throwable;
    }

    /** Runs a part, and says how long it took: where the time of a run goes (the quick run's aim is 3 minutes). */
    private static <T> T timed(String what, Part<T> part) throws Throwable {
        long t0 = System.nanoTime();
        T result = part.run();
        System.out.printf(Locale.ROOT, "BenchmarkReport: %s took %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
        return result;
    }

    /** The benchmarks whose figures come with 10 and with 10,000 other live jobs of the same supervisor. */
    private static ChainedOptionsBuilder loaded() {
        return new OptionsBuilder().include(KillBenchmark.class.getName()).include(PreemptionBenchmark.class.getName());
    }

    /**
     * Every JMH benchmark of the report, by {@link #key}. The full run forks a JVM per benchmark and parameter, with
     * the iterations each class declares; the reference design of the races (a 100 ms poll tick), whose figure is the
     * tick, only with 10 other jobs. The quick run is {@link #loads} of them all.
     */
    private static Map<String, Result<?>> jmh(boolean quick) throws Exception {
        ChainedOptionsBuilder all = loaded().include(SpawnBenchmark.class.getName())
                .include(CancelCheckBenchmark.class.getName()).include(StallBenchmark.class.getName());
        if (quick) {
            return loads(all, loaded().exclude("pollTick100ms").exclude("winnerAloneFloor"));
        }
        Map<String, Result<?>> r = run(all.exclude("pollTick100ms"));
        r.putAll(run(new OptionsBuilder().include(PreemptionBenchmark.class.getName() + ".pollTick100ms")
                .param("otherJobs", "10")));
        return r;
    }

    /**
     * The quick run: every trial in this JVM (no forks: a JVM start costs about a second each), one warm-up and one
     * measurement iteration of a second each; first {@code few} with 10 other jobs, then {@code many} with 10,000,
     * which start once for all of them (13 s on 2 cores) since the trials share them ({@link Load#SHARE}).
     */
    private static Map<String, Result<?>> loads(ChainedOptionsBuilder few, ChainedOptionsBuilder many)
            throws Exception {
        System.setProperty(Load.SHARE, "true");
        try {
            Map<String, Result<?>> r = run(quick(few).param("otherJobs", "10"));
            Load.closeShared();
            r.putAll(run(quick(many).param("otherJobs", "10000")));
            return r;
        } finally {
            Load.closeShared();
        }
    }

    private static ChainedOptionsBuilder quick(ChainedOptionsBuilder opts) {
        return opts.forks(0).warmupIterations(1).measurementIterations(1).warmupTime(TimeValue.milliseconds(500))
                .measurementTime(TimeValue.seconds(1));
    }

    /** Runs the benchmarks {@code opts} includes; results by {@link #key}. */
    private static Map<String, Result<?>> run(ChainedOptionsBuilder opts) throws Exception {
        Map<String, Result<?>> byName = new HashMap<>();
        for (RunResult res : new Runner(opts.build()).run()) {
            byName.put(key(res), res.getPrimaryResult());
        }
        return byName;
    }

    /** A result's name: the method's, then "/" and each parameter's value, in the order decider, probe, otherJobs. */
    private static String key(RunResult res) {
        String label = res.getParams().getBenchmark();
        StringBuilder name = new StringBuilder(label.substring(label.lastIndexOf('.') + 1));
        for (String param : List.of("decider", "probe", "otherJobs")) {
            String value = res.getParams().getParam(param);
            if (value != null) {
                name.append('/').append(value);
            }
        }
        return name.toString();
    }

    /**
     * Replaces the section that starts with {@code heading} (up to the next "## " heading) with {@code section}, which
     * starts with a blank line and its heading; without one, puts it before the portfolio's section, or at the end.
     */
    static String splice(String md, String heading, String section) {
        int at = md.indexOf("\n" + heading + "\n");
        if (at < 0) {
            int portfolio = md.indexOf("\n## Portfolio on the corpus");
            return portfolio < 0 ? md + section : md.substring(0, portfolio) + section + md.substring(portfolio);
        }
        int next = md.indexOf("\n## ", at + 1);
        return md.substring(0, at) + section + (next < 0 ? "" : md.substring(next));
    }

    /** One LiveChildren measurement in a fresh JVM: {threads, own threads, RSS KiB, heap KiB}. */
    private static long[] live(int n, String tool) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m", "-XX:+AlwaysPreTouch", "-cp",
                System.getProperty("java.class.path"), LiveChildren.class.getName(), Integer.toString(n), tool)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0 || !out.startsWith("live ")) {
            throw new IllegalStateException("LiveChildren " + n + " " + tool + " failed: " + out);
        }
        String[] f = out.split(" ");
        return new long[] {Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6])};
    }

    private static String row(String n, String tool, long[] r) {
        return String.format(Locale.ROOT, "| %s | %s | %d | %d | %.1f | %.1f |%n", n, tool, r[0], r[1], r[2] / 1024.0,
                r[3] / 1024.0);
    }

    /** The quick run's header: what it left out or shortened. */
    private static final String QUICK = "Written by `scripts/bench --quick`, a rough pass; every timing is a ratio "
            + "against a floor measured in the same run. Against the full run (`scripts/bench`), it leaves out or "
            + "shortens:\n\n"
            + "- JMH: every benchmark in one JVM (no fork per benchmark), with one warm-up and one measurement "
            + "iteration of 1 s each: few samples, so p99 figures are rough;\n"
            + "- with 10,000 other live jobs, kill to reaped and race preemption for the floor and Scythe's designs "
            + "only (not the 100 ms poll tick, not the winner alone), all of them sharing one set of 10,000 jobs, "
            + "started once;\n"
            + "- ProcessBuilder with 10,000 live children (minutes): not run;\n"
            + "- CLI start-up: 5 rounds (full: 15); worker pools: 3 rounds (full: 7) and 100 deaths of each kind "
            + "after 100 warm-up deaths (full: 420 after 300); the race through the CLI: 5 rounds (full: 15);\n"
            + "- across a cluster: 15 races after 5 warm-up ones (full: 40 after 20), one pass of the corpus on each "
            + "cluster (full: 3);\n"
            + "- the portfolio: one problem in 4 of each family, 1 s per problem (full: all, 5 s).\n\n";

    private static String markdown(Map<String, Result<?>> r, int children, int[] threads, boolean quick)
            throws IOException {
        double floor = r.get("rawFfmFloor").getScore();
        StringBuilder b = new StringBuilder();
        b.append("# Benchmarks\n\n");
        b.append(quick ? QUICK : "Written by `scripts/bench` (full run); every timing is a ratio against a floor "
                + "measured in the same run.\n\n");
        b.append("- Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        b.append("- Machine: ").append(cpu()).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores, Linux ").append(System.getProperty("os.version")).append('\n');
        b.append("- JDK: ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.version")).append("\n\n");
        b.append("## Spawn and reap, sequential (/bin/true, own session, piped stdin/stdout/stderr)\n\n");
        b.append("JMH `SpawnBenchmark`, throughput; the floor is posix_spawn with POSIX_SPAWN_SETSID and waitpid "
                + "called straight through FFM, with no supervisor (`RawSpawn`). ProcessBuilder and the peers (zt-exec 1.12, Apache Commons Exec 1.4.0, NuProcess 3.0.0, the latest: there is "
                + "no 4.x) cannot start a session; they are shown as users would otherwise run a prover. `scythe` is the session level (the target: >= 90% "
                + "of the floor); `scytheCgroup` adds a cgroup leaf per job (created, joined, killed, removed).\n\n");
        b.append("| method | ops/s | ± (99.9%) | ratio to floor |\n|---|---:|---:|---:|\n");
        for (String name : new String[] {"rawFfmFloor", "scythe", "scytheCgroup", "processBuilder", "ztExec",
            "commonsExec", "nuProcess"}) {
            Result<?> x = r.get(name);
            if (x == null) {
                continue;
            }
            b.append(String.format(Locale.ROOT, "| %s | %.0f | %s | %.2f |%n", name, x.getScore(),
                    error(x, "%.0f"), x.getScore() / floor));
        }
        b.append("\n## Cancel check\n\n");
        b.append("JMH `CancelCheckBenchmark`, average time: `CancelToken.isCancelled()` is an acquire load of the "
                + "native word through a VarHandle, no downcall; the floor is an acquire load of a Java field. "
                + "Target: about a nanosecond.\n\n");
        b.append("| method | ns/op | ± (99.9%) | ratio to floor |\n|---|---:|---:|---:|\n");
        double checkFloor = r.get("javaAcquireFloor").getScore();
        for (String name : new String[] {"javaAcquireFloor", "scytheIsCancelled"}) {
            Result<?> x = r.get(name);
            b.append(String.format(Locale.ROOT, "| %s | %.2f | %s | %.2f |%n", name, x.getScore(),
                    error(x, "%.2f"), x.getScore() / checkFloor));
        }
        b.append(preemption(r));
        b.append("\n## Threads with ").append(children).append(" live children (sleepers)\n\n");
        b.append("Extra JVM threads while the children live, against the count before (`LiveChildren`); the JIT "
                + "and GC may add threads of their own meanwhile, so Scythe's own (named `scythe-*`) are shown too. "
                + "Target: at most 3 for Scythe.\n\n");
        b.append("| tool | extra JVM threads | of them the tool's own |\n|---|---:|---:|\n");
        b.append("| Scythe | ").append(threads[0]).append(" | ").append(threads[1]).append(" (loop, token cleaner) |\n");
        b.append("| ProcessBuilder | ").append(threads[2]).append(" | ").append(threads[2])
                .append(" (process reapers) |\n");
        b.append("<<MANY>>");
        b.append("\nReproduce: `scripts/bench` (about 27 minutes on 2 cores, the evaluation on the corpus and the cluster's figures included, plus "
                + "however long ProcessBuilder needs to start 10,000 children: 14 minutes on a machine that spawns 390 "
                + "processes a second); `scripts/bench --quick` for a rough pass of every figure but that one (2.5 "
                + "minutes on the same 2 cores, shared; its header says what it shortens).\n");
        return b.toString();
    }

    /** A score's error in {@code format}; a single measurement iteration (the quick run) has none: "n/a". */
    private static String error(Result<?> x, String format) {
        return Double.isNaN(x.getScoreError()) ? "n/a" : String.format(Locale.ROOT, format, x.getScoreError());
    }

    private static String stall(Map<String, Result<?>> r, double[] inotify, double[] walk) throws IOException {
        StringBuilder b = new StringBuilder("\n## Stall detection\n\n");
        b.append("JMH `StallBenchmark`: a job makes progress once, then hangs, under a 100 ms stall window. The figure is "
                + "the job's own telemetry: from the window's end (last progress + window) to the session's reap. "
                + "The heartbeat is sampled every window/20 (here 5 ms), since a shared counter makes no event.\n\n");
        b.append("| probe | p50 ms | p99 ms | max ms | jobs | JMH op p50 ms (spawn + window + detection) |\n"
                + "|---|---:|---:|---:|---:|---:|\n");
        for (String probe : new String[] {"tree", "output", "heartbeat"}) {
            Path f = Path.of(System.getProperty("java.io.tmpdir"), "scythe-stall-" + probe + ".txt");
            Result<?> op = r.get("stalled/" + probe);
            if (!Files.exists(f) || op == null) {
                continue;
            }
            java.util.List<Long> ns = Files.readAllLines(f).stream().filter(l -> !l.isBlank()).map(Long::parseLong)
                    .toList();
            b.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %d | %.1f |%n", probe,
                    Telemetry.percentileMs(ns, 50), Telemetry.percentileMs(ns, 99), Telemetry.percentileMs(ns, 100),
                    ns.size(), op.getStatistics().getPercentile(50)));
        }
        b.append("\n### Watching a tree of 10,000 files (100 directories x 100 files)\n\n");
        b.append("`TreeWatchCost`: start = spawn with the watch set up (a walk's passes, the first included, run on a "
                + "thread of their own, `scythe-walk`); CPU = the loop thread's, and the walking thread's, CPU time per "
                + "second of an idle tree under a 2.5 s window (the walk runs every window/10, 250 ms); notice = from "
                + "the job's touch of a file (scheduled 1.5 s after spawn, so approximate to a few ms) to its counting as "
                + "progress (the loop samples the last walk's finding every 250 ms).\n\n");
        b.append("| mode | start ms | loop CPU ms per s | walking thread CPU ms per s | notice ms |\n"
                + "|---|---:|---:|---:|---:|\n");
        b.append(String.format(Locale.ROOT, "| inotify | %.1f | %.2f | - | %.1f |%n", inotify[0], inotify[1],
                inotify[2]));
        b.append(String.format(Locale.ROOT, "| walk | %.1f | %.2f | %.1f | %.1f |%n", walk[0], walk[1], walk[3],
                walk[2]));
        b.append(String.format(Locale.ROOT, "%nWalking costs %.1f ms of CPU per second of watching, on its own thread "
                + "(%.2f ms of the loop's), where inotify costs %.2f ms of the loop's while the tree is idle; the walk is "
                + "the fallback when inotify's watch limit runs out, or asked for where inotify cannot see (network "
                + "filesystems).%n", walk[3], walk[1], inotify[1]));
        return b.toString();
    }

    private static String kill(Map<String, Result<?>> r) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%n## Kill to reaped%n%nJMH `KillBenchmark`, "
                + "sample mode: a live `sleep` in its own session is killed with SIGKILL and reaped, and the thread that "
                + "killed it learns that it is gone, with 10 and with 10,000 other live jobs in the same supervisor "
                + "(and as many other processes for the floors). The floor of the same work: kill(2) on the benchmark "
                + "thread while a reaper thread blocked in poll(2) on the process's pidfd wakes, reaps it and "
                + "completes a future the benchmark thread waits on (a supervisor's two hand-offs, with nothing else). "
                + "The bare floor: kill(2) and waitpid(2) on one thread, where the exit wakes the killer itself. "
                + "Scythe: `Job.cancel` with no grace (its first signal leaves from the calling thread) until "
                + "`Job.await` returns the outcome, at the session level and at the default containment (a cgroup leaf "
                + "here). Targets (issue 14): p50 at most 1.3x the floor; 10 and 10,000 other jobs at most 1.2x apart."
                + "%n%n| other jobs | method | p50 µs | p99 µs | p50 ratio to the floor of the same work | p50 ratio "
                + "to the bare floor |%n|---:|---|---:|---:|---:|---:|%n"));
        for (String others : List.of("10", "10000")) {
            Result<?> one = r.get("rawKillWaitpidFloor/" + others), floor = r.get("rawKillReaperThreadFloor/" + others);
            if (one == null || floor == null) {
                continue;
            }
            double f50 = floor.getStatistics().getPercentile(50), o50 = one.getStatistics().getPercentile(50);
            for (var e : List.of(Map.entry("rawKillReaperThreadFloor (same work)", "rawKillReaperThreadFloor"),
                    Map.entry("rawKillWaitpidFloor (bare)", "rawKillWaitpidFloor"),
                    Map.entry("scytheCancelToReaped (session)", "scytheCancelToReaped"),
                    Map.entry("scytheCancelToReapedCgroup (cgroup)", "scytheCancelToReapedCgroup"))) {
                Result<?> x = r.get(e.getValue() + "/" + others);
                if (x == null) {
                    continue;
                }
                double p50 = x.getStatistics().getPercentile(50);
                b.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.2f | %.2f |%n", others, e.getKey(),
                        p50, x.getStatistics().getPercentile(99), p50 / f50, p50 / o50));
            }
        }
        for (String m : List.of("scytheCancelToReaped", "scytheCancelToReapedCgroup", "rawKillReaperThreadFloor")) {
            Result<?> few = r.get(m + "/10"), many = r.get(m + "/10000");
            if (few != null && many != null) {
                b.append(String.format(Locale.ROOT, "%n%s: p50 with 10,000 other jobs / with 10: %.2f", m,
                        many.getStatistics().getPercentile(50) / few.getStatistics().getPercentile(50)));
            }
        }
        return b.append('\n').toString();
    }

    /** The section "## Race preemption, 8 losers" from PreemptionBenchmark's results. */
    static String preemption(Map<String, Result<?>> r) throws IOException {
        StringBuilder b = new StringBuilder("\n## Race preemption, 8 losers\n\n");
        b.append("JMH `PreemptionBenchmark`, sample mode: from releasing a stopped winner (SIGCONT; it then exits 0) "
                + "until all 8 losers (`sleep 300`) are reaped and the releasing thread has the result. `scythe` is a "
                + "FIRST_SUCCESS `Race`, its claim made in the native loop (exitCode) or after a Java predicate on the "
                + "loop thread (javaPredicate), at the session level, and with every entrant in a cgroup leaf "
                + "(exitCodeCgroup: the default where the machine allows it). `rawSameWorkFloor` is the floor of the "
                + "same work without a supervisor: entrants posix_spawn'ed with SETSID, a thread blocked in poll(2) on "
                + "the winner's pidfd reaps it, kills the losers' sessions, waits on their pidfds, reaps them and "
                + "completes the future the releasing thread waits on. `pollTick100ms` is the reference design "
                + "(threads poll a flag every 100 ms, then kill their own pid; with 10 other jobs, and not in a "
                + "`--preemption` run); `winnerAloneFloor` is the release and "
                + "exit of the winner alone, through Scythe. Each with 10 and with 10,000 other live jobs in the same "
                + "supervisor (and as many other live processes for the floor, those jobs). Targets (issue 14): p50 at "
                + "most 1.5x the floor of the same work, p99 at most 2x; 10 and 10,000 other jobs at most 1.2x "
                + "apart.\n\n");
        b.append("| other jobs | design | p50 µs | p99 µs | samples | p50 ratio to the same work | p99 ratio |\n"
                + "|---:|---|---:|---:|---:|---:|---:|\n");
        List<String> designs = List.of("rawSameWorkFloor", "scythe/exitCode", "scythe/javaPredicate",
                "scythe/exitCodeCgroup", "winnerAloneFloor", "pollTick100ms");
        for (String others : List.of("10", "10000")) {
            Result<?> floorResult = r.get("rawSameWorkFloor/" + others);
            if (floorResult == null) {
                continue;
            }
            var floor = floorResult.getStatistics();
            for (String name : designs) {
                if (r.get(name + "/" + others) == null) {
                    continue;
                }
                var st = r.get(name + "/" + others).getStatistics();
                b.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %d | %.2f | %.2f |%n", others, name,
                        st.getPercentile(50), st.getPercentile(99), st.getN(),
                        st.getPercentile(50) / floor.getPercentile(50), st.getPercentile(99) / floor.getPercentile(99)));
            }
        }
        b.append('\n');
        for (String name : designs) {
            Result<?> few = r.get(name + "/10"), many = r.get(name + "/10000");
            if (few != null && many != null) {
                b.append(String.format(Locale.ROOT, "%s: p50 with 10,000 other jobs / with 10: %.2f%n", name,
                        many.getStatistics().getPercentile(50) / few.getStatistics().getPercentile(50)));
            }
        }
        b.append("\nThe races' own telemetry (`RaceResult.preemptionNanos`: the winner's exit to the last loser's "
                + "reap, on the loop's timestamps), over the same runs:\n\n");
        for (String others : List.of("10", "10000")) {
            for (String decider : new String[] {"exitCode", "javaPredicate", "exitCodeCgroup"}) {
                Path telemetry = PreemptionBenchmark.telemetry(decider, Integer.parseInt(others));
                if (r.get("scythe/" + decider + "/" + others) != null && Files.exists(telemetry)) {
                    List<Long> ns = Files.readAllLines(telemetry).stream().filter(l -> !l.isBlank())
                            .map(Long::parseLong).toList();
                    b.append("- ").append(decider).append(", ").append(others).append(" other jobs: ")
                            .append(Telemetry.summary(ns).replace(
                                    "preemption telemetry (winner exit -> last loser reaped): ", "")).append('\n');
                }
            }
        }
        return b.toString();
    }

    /** Only the preemption benchmark (without the 100 ms poll tick), its section replaced in place. */
    private static void preemptionOnly(Path out, boolean quick) throws Throwable {
        ChainedOptionsBuilder opts = new OptionsBuilder().include(PreemptionBenchmark.class.getName())
                .exclude("pollTick100ms");
        rewrite(out, "## Race preemption, 8 losers", preemption(quick ? loads(opts, new OptionsBuilder()
                .include(PreemptionBenchmark.class.getName()).exclude("pollTick100ms").exclude("winnerAloneFloor"))
                : run(opts)));
    }

    /** Replaces one section of the report in place. */
    private static void rewrite(Path out, String heading, String section) throws IOException {
        String md = Files.exists(out) ? Files.readString(out) : "# Benchmarks\n";
        Files.writeString(out, splice(md, heading, section));
        System.out.println("wrote the section \"" + heading.substring(3) + "\" of " + out.toAbsolutePath());
    }

    /** Only the kill benchmark, its section replaced in place: {@code scripts/bench --kill}. */
    private static void killOnly(Path out, boolean quick) throws Throwable {
        ChainedOptionsBuilder opts = new OptionsBuilder().include(KillBenchmark.class.getName());
        rewrite(out, "## Kill to reaped", kill(quick ? loads(opts, new OptionsBuilder()
                .include(KillBenchmark.class.getName())) : run(opts)));
    }

    private static String cpu() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return System.getProperty("os.arch");
    }
}
