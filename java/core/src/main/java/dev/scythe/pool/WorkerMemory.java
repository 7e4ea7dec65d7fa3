package dev.scythe.pool;

import dev.scythe.Job;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A worker's memory, for recycling: its cgroup's peak so far where the machine accounts it ({@link Job#memoryPeak()},
 * which the native library reads from the job's own leaves), else its leader's resident set ({@code VmRSS}).
 */
final class WorkerMemory {
    private WorkerMemory() {}

    /** Bytes, or 0 if the worker is gone or nothing can be read. */
    static long bytes(Job job, int pid) {
        var peak = job.memoryPeak();
        if (peak.isPresent()) {
            return peak.getAsLong();
        }
        if (pid <= 0) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0; // the worker is gone: nothing to recycle it for
        }
        return 0;
    }
}
