package dev.scythe.pool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A worker's memory, for recycling: the peak of the cgroup its leader is in where that cgroup accounts memory (v2
 * {@code memory.peak}, v1 {@code memory.max_usage_in_bytes}), else the leader's resident set ({@code VmRSS}).
 */
final class WorkerMemory {
    private WorkerMemory() {}

    /** Bytes, or 0 if the process is gone or nothing can be read. */
    static long bytes(int pid) {
        if (pid <= 0) {
            return 0;
        }
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc", Integer.toString(pid), "cgroup"));
            for (String line : lines) {
                String[] f = line.split(":", 3);
                if (f.length < 3 || f[2].equals("/")) {
                    continue;
                }
                long v = -1;
                if (f[1].isEmpty()) { // the v2 hierarchy: pure v2, or the unified one of a hybrid machine
                    v = read(Path.of("/sys/fs/cgroup", f[2], "memory.peak"));
                    if (v < 0) {
                        v = read(Path.of("/sys/fs/cgroup/unified", f[2], "memory.peak"));
                    }
                } else if (List.of(f[1].split(",")).contains("memory")) {
                    v = read(Path.of("/sys/fs/cgroup/memory", f[2], "memory.max_usage_in_bytes"));
                }
                if (v >= 0) {
                    return v;
                }
            }
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0; // the worker is gone, or its files unreadable: nothing to recycle it for
        }
        return 0;
    }

    private static long read(Path p) {
        try {
            return Long.parseLong(Files.readString(p).strip());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
