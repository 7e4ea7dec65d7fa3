package dev.scythe.jmh;

import dev.scythe.CancelToken;
import dev.scythe.Job;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Threads and memory the JVM needs to supervise N live children (sleepers): Scythe against ProcessBuilder, each
 * measured in a JVM of its own (BenchmarkReport starts one per tool and count) as the figures with the children
 * alive minus those before.
 */
public final class LiveChildren {
    /**
     * The sleepers' lifetime: far beyond the time to start them all. ProcessBuilder slows down with every live child
     * (one more reaper thread each); on a machine where 10,000 of its spawns took longer than a 300 s sleep, the first
     * sleepers exited and their reapers were reused, and the count came out short.
     */
    static final String SLEEP = "3600";

    private LiveChildren() {}

    static int threads() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            return (int) s.count();
        }
    }

    /** Threads named scythe-* in this JVM. */
    static int scytheThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("scythe-"))
                .count();
    }

    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /** Waits until the JVM's thread count has not changed for 500 ms (at most 10 s), and returns it. */
    static int settledThreads() throws Exception {
        int last = threads();
        long stableSince = System.nanoTime(), until = stableSince + 10_000_000_000L;
        while (System.nanoTime() - stableSince < 500_000_000L && System.nanoTime() < until) {
            Thread.sleep(50);
            int now = threads();
            if (now != last) {
                last = now;
                stableSince = System.nanoTime();
            }
        }
        return last;
    }

    static long heapUsedKib() {
        System.gc();
        return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1024;
    }

    /**
     * With n live children supervised by one tool ("scythe" or "processbuilder"), in this JVM, which should be
     * fresh: {extra threads, of them named scythe-*, extra resident KiB, extra heap KiB after a GC}. Started with a
     * fixed, pre-touched heap (see BenchmarkReport), the resident figure is what lives outside the heap: thread
     * stacks and native memory.
     */
    public static long[] measure(int n, String tool) throws Exception {
        CancelToken.create(); // starts the token cleaner thread: Scythe's too, so it is counted
        if (tool.equals("processbuilder")) {
            new ProcessBuilder("true").start().waitFor(); // the JDK's process machinery loaded before the baseline,
        }                                                 // as Scythe's library is by the line above
        long heap0 = heapUsedKib();
        long rss0 = rssKib();
        int before = settledThreads();
        long[] r = new long[4];
        if (tool.equals("scythe")) {
            try (Supervisor s = new Supervisor()) {
                CancelToken all = CancelToken.create();
                List<Job> jobs = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    jobs.add(s.start(ProcessSpec.builder("sleep", SLEEP).token(all).stdout(Redirect.discard())
                            .stderr(Redirect.discard()).containment(dev.scythe.Containment.SESSION).build()));
                }
                r[0] = settledThreads() - before;
                r[1] = scytheThreads();
                r[3] = heapUsedKib() - heap0;
                r[2] = rssKib() - rss0;
                all.cancel();
                for (Job j : jobs) {
                    j.await();
                }
            }
        } else {
            List<Process> procs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                procs.add(new ProcessBuilder("sleep", SLEEP).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start());
            }
            r[0] = settledThreads() - before;
            r[1] = r[0]; // the process reapers
            r[3] = heapUsedKib() - heap0;
            r[2] = rssKib() - rss0;
            for (Process p : procs) {
                p.destroyForcibly(); // by our own handle: these sleepers have no children
            }
            for (Process p : procs) {
                p.waitFor();
            }
        }
        return r;
    }

    /** Usage: LiveChildren N scythe|processbuilder; prints {@code live TOOL N THREADS OWN RSS_KIB HEAP_KIB}. */
    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        long[] r = measure(n, args[1]);
        System.out.println("live " + args[1] + " " + n + " " + r[0] + " " + r[1] + " " + r[2] + " " + r[3]);
    }
}
