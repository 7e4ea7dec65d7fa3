package dev.scythe;

import java.io.IOException;
import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Completes a hang dossier the native loop wrote: the supervising JVM's threads, with their full stacks and locks. */
final class Dossier {
    private static final System.Logger LOG = System.getLogger(Dossier.class.getName());

    private Dossier() {}

    /** The dossier the loop wrote for the job led by {@code pid} in {@code dir}, named by libscythe itself. */
    static Path path(Path dir, int pid) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            byte[] d = OsStrings.bytes(dir);
            java.lang.foreign.MemorySegment cdir = arena.allocate(d.length + 1L);
            java.lang.foreign.MemorySegment.copy(d, 0, cdir, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, d.length);
            java.lang.foreign.MemorySegment buf = arena.allocate(4096 + 1);
            NativeLibrary.check(dev.scythe.ffi.scythe_h.scythe_dossier_path(buf, buf.byteSize(), cdir, pid),
                    "scythe_dossier_path");
            byte[] name = buf.getString(0, java.nio.charset.StandardCharsets.ISO_8859_1)
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            return OsStrings.path(name);
        }
    }

    /** Appends every JVM thread's stack to the dossier; returns its path. */
    static Path appendThreads(Path dossier) {
        StringBuilder b = new StringBuilder("\n== supervising JVM (pid ").append(ProcessHandle.current().pid())
                .append("): every thread\n");
        for (ThreadInfo t : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            b.append("\n\"").append(t.getThreadName()).append("\" #").append(t.getThreadId()).append(' ')
                    .append(t.getThreadState());
            if (t.getLockName() != null) {
                b.append(" on ").append(t.getLockName());
            }
            if (t.getLockOwnerName() != null) {
                b.append(" owned by \"").append(t.getLockOwnerName()).append('"');
            }
            b.append('\n');
            StackTraceElement[] stack = t.getStackTrace();
            for (int i = 0; i < stack.length; i++) {
                b.append("    at ").append(stack[i]).append('\n');
                for (MonitorInfo m : t.getLockedMonitors()) {
                    if (m.getLockedStackDepth() == i) {
                        b.append("    - locked ").append(m).append('\n');
                    }
                }
            }
            for (LockInfo l : t.getLockedSynchronizers()) {
                b.append("    - holds ").append(l).append('\n');
            }
        }
        try {
            Files.writeString(dossier, b, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "could not add the JVM's threads to " + dossier, e);
        }
        return dossier;
    }
}
