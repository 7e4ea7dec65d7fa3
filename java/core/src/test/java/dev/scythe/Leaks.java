package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Proof that a test leaked nothing: fds, threads, zombies, and processes left in a job's session. */
public final class Leaks {
    static {
        CancelToken.create(); // starts the token cleaner thread once, before any baseline is taken
        new Supervisor().close(); // and the guard, with its fds, which the first supervisor starts
        // The JDK's seed source opens /dev/random and /dev/urandom on first use and keeps them open (the first @TempDir
        // or temporary file of the JVM): open them before any baseline.
        new java.security.SecureRandom().nextInt();
    }

    /** Open fd count, and this process's threads by kernel tid with their names. */
    public record Snapshot(int fds, Map<Long, String> threads) {}

    private Leaks() {}

    public static Snapshot take() {
        return new Snapshot(fds(), threads());
    }

    /**
     * Waits up to 10 s for fds to fall back to the baseline, for every thread started since it to end and for every
     * child of this JVM but the guard to be reaped, then asserts that. A thread that existed at the baseline may end meanwhile (the JDK's process reaper
     * idles out after 60 s): that is not a leak, so threads are compared by identity, not by count.
     */
    public static void assertNoneSince(Snapshot before) {
        long until = System.nanoTime() + 10_000_000_000L;
        while ((fds() > before.fds() || !threadsStartedSince(before).isEmpty() || !zombieChildren().isEmpty()
                || !childrenBesidesTheGuard().isEmpty() || !cgroupLeaves().isEmpty()) && System.nanoTime() < until) {
            sleep(20);
        }
        assertEquals(List.of(), cgroupLeaves(), "cgroup leaves of this JVM's jobs left behind");
        assertEquals(List.of(), zombieChildren(), "zombie children of this JVM");
        assertEquals(List.of(), childrenBesidesTheGuard(), "children of this JVM left running");
        int fds = fds();
        assertTrue(fds <= before.fds(), () -> "open fds: " + before.fds() + " before, " + fds + " after: " + fdTargets());
        assertEquals(Map.of(), threadsStartedSince(before), "threads started since the baseline and still alive");
    }

    /**
     * The directories of pid's cgroups in the v2 hierarchy and in the v1 memory and pids hierarchies (keys "",
     * "memory", "pids"; absent where not mounted), from /proc/PID/cgroup and the mount points in
     * /proc/self/mountinfo.
     */
    public static Map<String, Path> cgroupDirs(long pid) {
        Map<String, String> mounts = new TreeMap<>(); // "" for cgroup2, else the v1 controller
        try {
            for (String m : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                int sep = m.indexOf(" - ");
                String[] pre = m.substring(0, sep).split(" ");
                String[] post = m.substring(sep + 3).split(" ");
                if (post[0].equals("cgroup2")) {
                    mounts.putIfAbsent("", pre[4]);
                } else if (post[0].equals("cgroup")) {
                    for (String opt : post[2].split(",")) {
                        mounts.putIfAbsent(opt, pre[4]);
                    }
                }
            }
            Map<String, Path> out = new TreeMap<>();
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                String[] f = l.split(":", 3);
                for (String want : List.of("", "memory", "pids")) {
                    boolean match = want.isEmpty() ? f[1].isEmpty() : List.of(f[1].split(",")).contains(want);
                    if (match && mounts.containsKey(want)) {
                        out.put(want, Path.of(mounts.get(want) + (f[2].equals("/") ? "" : f[2])));
                    }
                }
            }
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Spare leaves a live supervisor's loop keeps made ahead (SCYTHE__SPARE_LEAVES in native/src/internal.h). */
    static final int SPARE_LEAVES = 8;

    /**
     * Job leaves left in this JVM's cgroup parents (BASE/scythe-PID/job-N), in every hierarchy, but for the spares of
     * the supervisors still open: in a hierarchy where every leaf is empty and there are at most {@link #SPARE_LEAVES}
     * per live loop thread, none is left behind (a freed job's leaves are removed by its loop when idle, decision 0026).
     */
    static List<Path> cgroupLeaves() {
        long self = ProcessHandle.current().pid();
        long loops = threads().values().stream().filter(n -> n.startsWith("scythe-loop-")).count();
        List<Path> left = new ArrayList<>();
        for (Path base : cgroupDirs(self).values()) {
            try (Stream<Path> leaves = Files.list(base.resolve("scythe-" + self))) {
                List<Path> here = leaves.filter(Files::isDirectory).toList();
                if (here.size() > SPARE_LEAVES * loops || !here.stream().allMatch(Leaks::emptyLeaf)) {
                    left.addAll(here);
                }
            } catch (java.nio.file.NoSuchFileException none) {
                // no parent: no job of this JVM used the hierarchy, or the last loop removed it
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return left;
    }

    private static boolean emptyLeaf(Path leaf) {
        try {
            return Files.readString(leaf.resolve("cgroup.procs")).isBlank();
        } catch (IOException gone) {
            return true; // removed meanwhile
        }
    }

    /**
     * Live threads that were not alive at the baseline, by tid, but for the JVM's and the test framework's own, which
     * the JVM starts lazily by itself (GC and compiler workers, the process reaper, the common pool, JUnit's timeout
     * watcher).
     */
    static Map<Long, String> threadsStartedSince(Snapshot before) {
        Map<Long, String> fresh = new TreeMap<>(threads());
        fresh.keySet().removeAll(before.threads().keySet());
        fresh.values().removeIf(Leaks::isJvmOwnThread);
        return fresh;
    }

    private static boolean isJvmOwnThread(String name) {
        return name.startsWith("junit-") || name.startsWith("GC Thread") || name.startsWith("G1 ")
                || name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")
                || name.equals("process reaper") || name.startsWith("ForkJoinPool");
    }

    /**
     * Open fds, but for those of the leaves still there: a spare keeps its cgroup.procs open for the spawn that takes
     * it (a job's are closed once its child has joined), and a spare or a live job's leaf the files the job's exit
     * reads (cgroup.events, cpu.stat, the memory peak; closed when the job is freed). An fd into a leaf that is gone
     * counts: it was not closed with its leaf.
     */
    private static final java.util.Set<String> HELD = java.util.Set.of("cgroup.procs", "cgroup.events", "cpu.stat",
            "memory.peak", "memory.max_usage_in_bytes");

    static int fds() {
        String spare = "/scythe-" + ProcessHandle.current().pid() + "/job-";
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            List<Path> all = s.toList();
            int spares = 0;
            for (Path fd : all) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    spares += target.contains(spare) && HELD.contains(target.substring(target.lastIndexOf('/') + 1))
                            && Files.isDirectory(Path.of(target).getParent()) ? 1 : 0;
                    // A shared token's memfd lives as long as its CancelToken, which the Cleaner frees after the test.
                    spares += target.startsWith("/memfd:scythe-token") ? 1 : 0;
                } catch (IOException gone) {
                    // closed meanwhile
                }
            }
            return all.size() - 1 - spares; // the listing's own fd
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> fdTargets() {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : s.toList()) {
                try {
                    out.add(fd.getFileName() + "->" + Files.readSymbolicLink(fd));
                } catch (IOException gone) {
                    // closed meanwhile (the listing's own fd)
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    /** This process's threads as the kernel knows them: tid to name. */
    static Map<Long, String> threads() {
        Map<Long, String> threads = new TreeMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : s.toList()) {
                try {
                    threads.put(Long.parseLong(t.getFileName().toString()), Files.readString(t.resolve("comm")).trim());
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return threads;
    }

    /** Children of this JVM (forked by any of its threads) but for Scythe's guard: none once every job is reaped. */
    public static List<Long> childrenBesidesTheGuard() {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                try {
                    for (String pid : Files.readString(task.resolve("children")).trim().split(" ")) {
                        if (!pid.isEmpty() && Long.parseLong(pid) != Scythe.guardPid()) {
                            out.add(Long.parseLong(pid));
                        }
                    }
                } catch (IOException threadGone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    /** /proc/PID/stat fields after the command name: state, ppid, pgrp, session. */
    public static String[] stat(long pid) {
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
    public static List<Long> inSession(long sid) {
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

    /**
     * Waits up to 5 s for process {@code pid} (one a second JVM started, its guard say) to be gone, or a zombie that
     * is not ours to reap, then asserts it is.
     */
    public static void assertGone(long pid, String what) {
        if (!gone(pid)) {
            fail(what + " (pid " + pid + ") is still running");
        }
    }

    /** Whether process {@code pid} is gone, or a zombie that is not ours to reap, within 5 s. */
    public static boolean gone(long pid) {
        long until = System.nanoTime() + 5_000_000_000L;
        long self = ProcessHandle.current().pid();
        while (true) {
            String[] st = stat(pid);
            if (st == null || (st[0].equals("Z") && Long.parseLong(st[1]) != self)) {
                return true;
            }
            if (System.nanoTime() >= until) {
                return false;
            }
            sleep(10);
        }
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
