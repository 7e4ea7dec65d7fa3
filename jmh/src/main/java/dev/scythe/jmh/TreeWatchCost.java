package dev.scythe.jmh;

import dev.scythe.Job;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;

/**
 * The cost of watching a tree of 10,000 files (100 directories of 100): inotify against the walking fallback.
 * For each: the time to start the job (watches added; a walk's first pass runs on its own thread), the supervisor loop
 * thread's CPU time per second of watching an idle tree (stall window 2.5 s: the walk runs every 250 ms), the walking
 * thread's ({@code scythe-walk}, native), and how long a change takes to count as progress. Prints
 * {@code tree <mode> <start ms> <loop cpu ms per s> <notice ms> <walker cpu ms per s>}.
 */
public final class TreeWatchCost {
    private TreeWatchCost() {}

    public static double[] measure(boolean walk) throws Exception {
        Path root = Files.createTempDirectory("scythe-tree");
        try {
            for (int d = 0; d < 100; d++) {
                Path dir = Files.createDirectory(root.resolve("d" + d));
                for (int f = 0; f < 100; f++) {
                    Files.createFile(dir.resolve("f" + f));
                }
            }
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            try (Supervisor s = new Supervisor()) {
                ProcessSpec.Builder b = ProcessSpec.builder("sh", "-c", "sleep 1.5; touch " + root + "/d50/f50; sleep 1")
                        .stall(Duration.ofMillis(2500));
                b = walk ? b.progressTreeByWalking(root) : b.progressTree(root);
                ProcessSpec spec = b.build();
                long t0 = System.nanoTime();
                Job job = s.start(spec);
                double startMs = (System.nanoTime() - t0) / 1e6;
                Thread.sleep(300);
                long loopTid = s.loopThread().threadId();
                long cpu0 = mx.getThreadCpuTime(loopTid), walker0 = walkerCpuNanos();
                Thread.sleep(1000);
                double cpuPerSecond = (mx.getThreadCpuTime(loopTid) - cpu0) / 1e6;
                double walkerPerSecond = (walkerCpuNanos() - walker0) / 1e6;
                job.await();
                // The touch at ~1.5 s is the last progress; the time it took to notice it is the lag behind the touch.
                double noticeMs = (job.lastProgressNanos() - job.startNanos()) / 1e6 - 1500;
                return new double[] {startMs, cpuPerSecond, noticeMs, walkerPerSecond};
            }
        } finally {
            try (var files = Files.walk(root)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /** CPU time of this process's threads named scythe-walk (utime + stime in /proc/self/task/N/stat). */
    static long walkerCpuNanos() throws IOException {
        long ticks = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    if (stat.contains("(scythe-walk)")) {
                        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
                    }
                } catch (IOException gone) {
                    // ended meanwhile
                }
            }
        }
        return ticks * 10_000_000L; // USER_HZ is 100 on Linux
    }

    public static void main(String[] args) throws Exception {
        for (boolean walk : new boolean[] {false, true}) {
            double[] r = measure(walk);
            System.out.printf("tree %s %.1f %.2f %.1f %.2f%n", walk ? "walk" : "inotify", r[0], r[1], r[2], r[3]);
        }
    }
}
