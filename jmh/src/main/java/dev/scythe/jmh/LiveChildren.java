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
 * Threads the JVM needs to supervise N live children (sleepers): Scythe against ProcessBuilder, each measured as
 * the JVM's thread count with the children alive minus the count before. Prints one line per tool:
 * {@code threads <tool> <children> <extra threads>}. Usage: LiveChildren [N]
 */
public final class LiveChildren {
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

    /** Resident memory of the JVM, before / with n live children: {Scythe KiB delta, ProcessBuilder KiB delta}. */
    static final long[] MEMORY = new long[2];

    /** With n live children: {extra JVM threads with Scythe, of them named scythe-*, extra with ProcessBuilder}. */
    public static int[] measure(int n) throws Exception {
        System.gc();
        long rss0 = rssKib();
        int before = threads();
        CancelToken.create(); // starts the token cleaner thread: Scythe's too, so it is counted
        int scythe, named;
        try (Supervisor s = new Supervisor()) {
            CancelToken all = CancelToken.create();
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                jobs.add(s.start(ProcessSpec.builder("sleep", "300").token(all).stdout(Redirect.discard())
                        .stderr(Redirect.discard()).containment(dev.scythe.Containment.SESSION).build()));
            }
            Thread.sleep(500);
            scythe = threads() - before;
            named = scytheThreads();
            System.gc(); // both readings after a collection, so heap garbage does not count for or against anyone
            MEMORY[0] = rssKib() - rss0;
            all.cancel();
            for (Job j : jobs) {
                j.await();
            }
        }
        System.gc();
        long rss1 = rssKib();
        int pbBefore = threads();
        List<Process> procs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            procs.add(new ProcessBuilder("sleep", "300").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start());
        }
        Thread.sleep(500);
        int pb = threads() - pbBefore;
        System.gc();
        MEMORY[1] = rssKib() - rss1;
        for (Process p : procs) {
            p.destroyForcibly(); // by our own handle: these sleepers have no children
        }
        for (Process p : procs) {
            p.waitFor();
        }
        return new int[] {scythe, named, pb};
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int[] r = measure(n);
        System.out.println("threads scythe " + n + " " + r[0]);
        System.out.println("threads scythe-named " + n + " " + r[1]);
        System.out.println("threads processbuilder " + n + " " + r[2]);
    }
}
