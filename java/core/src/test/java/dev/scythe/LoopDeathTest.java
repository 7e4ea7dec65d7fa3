package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Regression: when the loop thread died, job futures never completed, a later cancel touched freed native memory,
 * and a failing scythe_loop_run was retried in a hot spin. Now the jobs are killed and fail with the cause, and every
 * later start throws.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoopDeathTest {

    /** This process's epoll fds, by number. */
    static List<Integer> epollFds() throws Exception {
        List<Integer> out = new ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals("anon_inode:[eventpoll]")) {
                        out.add(Integer.parseInt(fd.getFileName().toString()));
                    }
                } catch (java.io.IOException gone) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }

    /** How many fds the epoll set behind {@code fd} watches (its fdinfo has a tfd line each). */
    static long watched(int fd) {
        try {
            return Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream().filter(l -> l.startsWith("tfd:"))
                    .count();
        } catch (java.io.IOException gone) {
            return 0;
        }
    }

    @Test
    void aDeadLoopFailsItsJobsAndRefusesNewOnes() throws Throwable {
        Leaks.Snapshot baseline = Leaks.take();
        List<Integer> before = epollFds();
        Supervisor supervisor = new Supervisor();
        List<Integer> ours = new ArrayList<>(epollFds());
        ours.removeAll(before);
        // The loop's epoll set watches several fds (its eventfd, its timerfd, the guard's set...); the guard's own
        // set, should the guard have made it now, watches one pidfd.
        ours.removeIf(fd -> watched(fd) < 2);
        assertEquals(1, ours.size(), "the supervisor's epoll fd: " + ours);
        Job sleeper = supervisor.start(ProcessSpec.of("sleep", "300"));
        Leaks.awaitSessionSize(sleeper.pid(), 1);
        // Break the loop for real: its epoll fd becomes /dev/null (a dup2, so no fd number is freed for reuse),
        // and the next epoll_wait fails with EINVAL.
        Linker linker = Linker.nativeLinker();
        MethodHandle dup2 = linker.downcallHandle(linker.defaultLookup().find("dup2").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (var devNull = new java.io.FileInputStream("/dev/null"); Arena arena = Arena.ofConfined()) {
            int nullFd = fdOf(devNull.getFD());
            assertEquals(ours.get(0), (int) dup2.invokeExact(nullFd, (int) ours.get(0)));
        }
        CancelToken.create().cancel(); // a token flip wakes every loop (through its eventfd); the next wait fails
        ScytheException e = assertThrows(ScytheException.class, () -> sleeper.await(java.time.Duration.ofSeconds(20)));
        assertTrue(e.getMessage().contains("loop thread died") && e.getMessage().contains("scythe_loop_run"),
                e.getMessage());
        assertFalse(sleeper.cancel(), "a cancel after the death touches no native memory and decides nothing");
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> supervisor.start(ProcessSpec.of("true")));
        assertTrue(refused.getMessage().contains("loop thread died"), refused.getMessage());
        Leaks.assertSessionGone(sleeper.pid());
        supervisor.close();
        Leaks.assertNoneSince(baseline);
    }

    private static int fdOf(java.io.FileDescriptor fd) throws Exception {
        // The fd number behind a FileDescriptor, read back from /proc rather than through JDK internals.
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (var p : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals("/dev/null") && fd.valid()) {
                        return Integer.parseInt(p.getFileName().toString());
                    }
                } catch (java.io.IOException gone) {
                    // closed meanwhile
                }
            }
        }
        throw new IllegalStateException("no /dev/null fd");
    }
}
