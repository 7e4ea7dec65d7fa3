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
