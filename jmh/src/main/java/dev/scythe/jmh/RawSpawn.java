package dev.scythe.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The floor: what any Java program must do to run a child in its own session with piped stdio, called straight
 * through FFM with no supervisor: pipe2 three times, posix_spawn with POSIX_SPAWN_SETSID and dup2 file actions,
 * close the child's ends, waitpid, close ours. No pidfd, no event loop, no fd hygiene beyond O_CLOEXEC.
 */
final class RawSpawn implements AutoCloseable {
    private static final int POSIX_SPAWN_SETSID = 0x80; // glibc
    private static final int O_CLOEXEC = 0x80000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MethodHandle SPAWN = handle("posix_spawn", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.ADDRESS));
    private static final MethodHandle ATTR_INIT = handle("posix_spawnattr_init",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle ATTR_SETFLAGS = handle("posix_spawnattr_setflags",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_SHORT));
    private static final MethodHandle FA_INIT = handle("posix_spawn_file_actions_init",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle FA_DESTROY = handle("posix_spawn_file_actions_destroy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle FA_DUP2 = handle("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle PIPE2 = handle("pipe2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = handle("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle WAITPID = handle("waitpid", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private final Arena arena = Arena.ofShared();
    private final MemorySegment attr = arena.allocate(512, 16);
    private final MemorySegment path;
    private final MemorySegment argv;
    private final MemorySegment pid = arena.allocate(ValueLayout.JAVA_INT);
    private final MemorySegment status = arena.allocate(ValueLayout.JAVA_INT);
    private final MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 6);
    private final MemorySegment actions = arena.allocate(512, 16);

    RawSpawn(String... command) throws Throwable {
        path = arena.allocateFrom(command[0]);
        argv = arena.allocate(ValueLayout.ADDRESS, command.length + 1);
        argv.setAtIndex(ValueLayout.ADDRESS, 0, path);
        for (int i = 1; i < command.length; i++) {
            argv.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(command[i]));
        }
        argv.setAtIndex(ValueLayout.ADDRESS, command.length, MemorySegment.NULL);
        check((int) ATTR_INIT.invokeExact(attr), "posix_spawnattr_init");
        check((int) ATTR_SETFLAGS.invokeExact(attr, (short) POSIX_SPAWN_SETSID), "posix_spawnattr_setflags");
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd);
    }

    private static void check(int rc, String what) {
        if (rc != 0) {
            throw new IllegalStateException(what + " failed: " + rc);
        }
    }

    /** Spawns the program in its own session with its stdio on pipes, waits for it; returns its wait status. */
    int runOnce() throws Throwable {
        int[] child = spawnWithPipes();
        for (int k = 1; k < 4; k++) {
            int ignored = (int) CLOSE.invokeExact(child[k]);
        }
        int waited = (int) WAITPID.invokeExact(child[0], status, 0);
        if (waited <= 0) {
            throw new IllegalStateException("waitpid failed");
        }
        return status.get(ValueLayout.JAVA_INT, 0);
    }

    private static final MethodHandle KILL = handle("kill", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    /** Spawns without waiting (no pipes kept); returns the pid. */
    int spawn() throws Throwable {
        int rc = (int) SPAWN.invokeExact(pid, path, MemorySegment.NULL, attr, argv, MemorySegment.NULL);
        check(rc, "posix_spawn");
        return pid.get(ValueLayout.JAVA_INT, 0);
    }

    private static final MethodHandle SYSCALL = handle("syscall", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle POLL = handle("poll", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final long SYS_PIDFD_OPEN = 434;

    /** pidfd_open(pid, 0). */
    static int pidfdOpen(int target) throws Throwable {
        int fd = (int) (long) SYSCALL.invokeExact(SYS_PIDFD_OPEN, target, 0);
        check(fd < 0 ? -1 : 0, "pidfd_open");
        return fd;
    }

    /** Blocks in poll(2) until fd is readable (a pidfd: its process exited). */
    static void awaitReadable(int fd) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(8);
            p.set(ValueLayout.JAVA_INT, 0, fd);
            p.set(ValueLayout.JAVA_SHORT, 4, (short) 1); // POLLIN
            while ((int) POLL.invokeExact(p, 1L, -1) != 1) {
                // EINTR: poll again
            }
        }
    }

    /**
     * A daemon thread that runs what is put on {@code work}, in order, until interrupted: the floors' other thread (a
     * reaper, a referee), which a supervisor would have, blocked and woken like the supervisor's loop thread.
     */
    static Thread serve(java.util.concurrent.BlockingQueue<Runnable> work, String name) {
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    work.take().run();
                }
            } catch (InterruptedException e) {
                // the trial is over
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** close(fd). */
    static void closeFd(int fd) throws Throwable {
        check((int) CLOSE.invokeExact(fd), "close");
    }

    /** kill(pid, sig), straight through FFM. */
    static void kill(int target, int sig) throws Throwable {
        check((int) KILL.invokeExact(target, sig), "kill");
    }

    /** kill(pid, SIGKILL) and waitpid: the floor of ending a process. */
    void killAndReap(int target) throws Throwable {
        check((int) KILL.invokeExact(target, 9), "kill");
        if ((int) WAITPID.invokeExact(target, status, 0) != target) {
            throw new IllegalStateException("waitpid failed");
        }
    }

    /**
     * Spawns the program in its own session with its stdio on pipes, without waiting; returns {pid, our end of its
     * stdin, of its stdout, of its stderr} (close them).
     */
    int[] spawnWithPipes() throws Throwable {
        for (int i = 0; i < 3; i++) {
            check((int) PIPE2.invokeExact(fds.asSlice(i * 8L, 8), O_CLOEXEC), "pipe2");
        }
        check((int) FA_INIT.invokeExact(actions), "posix_spawn_file_actions_init");
        check((int) FA_DUP2.invokeExact(actions, fds.getAtIndex(ValueLayout.JAVA_INT, 0), 0), "adddup2");
        check((int) FA_DUP2.invokeExact(actions, fds.getAtIndex(ValueLayout.JAVA_INT, 3), 1), "adddup2");
        check((int) FA_DUP2.invokeExact(actions, fds.getAtIndex(ValueLayout.JAVA_INT, 5), 2), "adddup2");
        int rc = (int) SPAWN.invokeExact(pid, path, actions, attr, argv, MemorySegment.NULL);
        check((int) FA_DESTROY.invokeExact(actions), "posix_spawn_file_actions_destroy");
        for (int i : new int[] {0, 3, 5}) { // the child's ends
            int ignored = (int) CLOSE.invokeExact(fds.getAtIndex(ValueLayout.JAVA_INT, i));
        }
        check(rc, "posix_spawn");
        return new int[] {pid.get(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1),
            fds.getAtIndex(ValueLayout.JAVA_INT, 2), fds.getAtIndex(ValueLayout.JAVA_INT, 4)};
    }

    /** waitpid(pid): reaps a child that this spawned (any thread); returns its wait status. */
    int reapStatus(int target) throws Throwable {
        if ((int) WAITPID.invokeExact(target, status, 0) != target) {
            throw new IllegalStateException("waitpid failed");
        }
        return status.get(ValueLayout.JAVA_INT, 0);
    }

    /** waitpid(pid): reaps a child that this spawned (any thread). */
    void reap(int target) throws Throwable {
        if ((int) WAITPID.invokeExact(target, status, 0) != target) {
            throw new IllegalStateException("waitpid failed");
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
