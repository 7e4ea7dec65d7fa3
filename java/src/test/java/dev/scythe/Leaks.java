package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Proof that a test leaked nothing: fds, threads, zombies, and processes left in a job's session. */
final class Leaks {
    static {
        CancelToken.create(); // starts the token cleaner thread once, before any baseline is taken
    }

    record Snapshot(int fds, int threads) {}

    private Leaks() {}

    static Snapshot take() {
        return new Snapshot(fds(), threads());
    }

    /** Waits up to 10 s for fds and threads to return to the baseline, then asserts that, and no zombie child. */
    static void assertNoneSince(Snapshot before) {
        long until = System.nanoTime() + 10_000_000_000L;
        while ((fds() > before.fds() || threads() > before.threads() || !zombieChildren().isEmpty())
                && System.nanoTime() < until) {
            sleep(20);
        }
        assertEquals(List.of(), zombieChildren(), "zombie children of this JVM");
        assertEquals(before.fds(), fds(), "open fds (before vs after)");
        assertEquals(before.threads(), threads(), () -> "threads (before vs after); now: " + threadNames());
    }

    static int fds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count() - 1; // the listing's own fd
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Names of this process's threads, as the kernel knows them. */
    static List<String> threadNames() {
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : s.toList()) {
                try {
                    names.add(Files.readString(t.resolve("comm")).trim());
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return names;
    }

    /** This process's threads, but for the test framework's own (JUnit's lazily started timeout watcher). */
    static int threads() {
        return (int) threadNames().stream().filter(n -> !n.startsWith("junit-")).count();
    }

    /** /proc/PID/stat fields after the command name: state, ppid, pgrp, session. */
    static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return s.substring(s.lastIndexOf(')') + 2).split(" ");
        } catch (IOException e) {
            return null; // gone
        }
    }

    static List<Long> zombieChildren() {
        long self = ProcessHandle.current().pid();
        List<Long> out = new ArrayList<>();
        for (long pid : allPids()) {
            String[] st = stat(pid);
            if (st != null && st[0].equals("Z") && Long.parseLong(st[1]) == self) {
                out.add(pid);
            }
        }
        return out;
    }

    /**
     * Processes in session {@code sid} that still run, or that are zombies of ours. A killed grandchild is reparented
     * to init and stays a zombie until init reaps it: dead, and not ours to reap, so it does not count.
     */
    static List<Long> inSession(long sid) {
        long self = ProcessHandle.current().pid();
        List<Long> out = new ArrayList<>();
        for (long pid : allPids()) {
            String[] st = stat(pid);
            if (st != null && Long.parseLong(st[3]) == sid && (!st[0].equals("Z") || Long.parseLong(st[1]) == self)) {
                out.add(pid);
            }
        }
        return out;
    }

    /** Waits up to 5 s for the session to be empty, then asserts it is. */
    static void assertSessionGone(long sid) {
        long until = System.nanoTime() + 5_000_000_000L;
        while (!inSession(sid).isEmpty() && System.nanoTime() < until) {
            sleep(10);
        }
        List<Long> left = inSession(sid);
        if (!left.isEmpty()) {
            fail("processes left in session " + sid + ": " + left);
        }
    }

    /** Waits until the session has at least n processes (the job's children have started). */
    static void awaitSessionSize(long sid, int n) {
        long until = System.nanoTime() + 10_000_000_000L;
        while (inSession(sid).size() < n && System.nanoTime() < until) {
            sleep(10);
        }
        assertEquals(n, inSession(sid).size(), "processes in session " + sid);
    }

    static List<Long> allPids() {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (!n.isEmpty() && n.chars().allMatch(Character::isDigit)) {
                    pids.add(Long.parseLong(n));
                }
            });
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return pids;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
