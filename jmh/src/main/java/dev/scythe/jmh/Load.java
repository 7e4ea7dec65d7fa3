package dev.scythe.jmh;

import dev.scythe.Containment;
import dev.scythe.Job;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import java.util.ArrayList;
import java.util.List;

/**
 * A supervisor with N other live jobs: the load under which KillBenchmark and PreemptionBenchmark measure, for Scythe
 * and, as many other live processes of the same JVM, for their raw floors. The other jobs are sleepers with no
 * pipes (a pidfd each), which keeps 10,000 of them within the machine's fd limit (20000).
 *
 * <p>In a forked JMH run each trial has a load of its own. Starting 10,000 jobs takes about 13 s on 2 cores, so the
 * quick run (no forks: every trial in BenchmarkReport's JVM) sets {@link #SHARE}, and consecutive trials with the same
 * count then share one load, started once and closed by {@link #closeShared()}.
 */
final class Load {
    /** System property: keep the load between trials of this JVM (BenchmarkReport's quick run). */
    static final String SHARE = "scythe.bench.shareLoad";
    private static Load shared;

    final Supervisor supervisor;
    private final int others;
    private final List<Job> jobs = new ArrayList<>();

    private Load(int others) {
        this.others = others;
        supervisor = new Supervisor();
        try {
            for (int i = 0; i < others; i++) {
                Job other = supervisor.start(ProcessSpec.builder("/bin/sleep", "3000")
                        .containment(Containment.SESSION).stdout(Redirect.discard()).stderr(Redirect.discard())
                        .build());
                if (other.pid() <= 0) {
                    throw new IllegalStateException("other job " + i + " did not start: " + other.await());
                }
                jobs.add(other);
            }
        } catch (RuntimeException | InterruptedException e) {
            supervisor.close();
            throw new IllegalStateException("could not start " + others + " other jobs", e);
        }
    }

    /** A supervisor with {@code others} other live jobs: the shared one if it has as many, else a new one. */
    static synchronized Load open(int others) {
        if (!Boolean.getBoolean(SHARE)) {
            return new Load(others);
        }
        if (shared != null && shared.others != others) {
            closeShared();
        }
        if (shared == null) {
            shared = new Load(others);
        }
        return shared;
    }

    /** Ends the trial's use: closes the supervisor (killing its jobs) unless it is shared. */
    void close() {
        if (this != sharedOrNull()) {
            supervisor.close();
        }
    }

    private static synchronized Load sharedOrNull() {
        return shared;
    }

    /** Closes the shared load, if any. */
    static synchronized void closeShared() {
        if (shared != null) {
            shared.supervisor.close();
            shared = null;
        }
    }
}
