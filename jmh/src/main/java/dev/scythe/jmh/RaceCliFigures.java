package dev.scythe.jmh;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Race preemption from outside the JVM: {@code scythe race} run cold as a command, against a small C program that does
 * the same race with no supervisor (jmh/src/main/c/race_floor.c, built by scripts/bench, its path in
 * {@code SCYTHE_RACE_FLOOR}). The entrants: {@code sh -c 'sleep 0.4; exit 0'} (the winner) and three {@code sleep 300}.
 *
 * <p>The figure is taken by neither program: this harness finds the entrants as the children of the process it
 * started (/proc/PID/task/&#42;/children, once each has exec'd {@code sh} or {@code sleep}), opens a pidfd on each and
 * blocks in poll(2) on them, taking the time as each becomes readable (its process exited). The figure runs from the
 * winner's exit to the last loser's. Rounds alternate the floor and Scythe at each containment; medians.
 * Usage: {@code scripts/bench --race-cli}.
 */
final class RaceCliFigures {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle POLL = LINKER.downcallHandle(LINKER.defaultLookup().find("poll").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT));
    private static final List<String> ENTRANTS = List.of("sh", "-c", "sleep 0.4; exit 0", ":::", "sleep", "300",
            ":::", "sleep", "300", ":::", "sleep", "300");
    private static final int LOSERS = 3;
    private static final Pattern LATENCY = Pattern.compile("\"preemption_latency_ms\":([0-9.]+)");

    private RaceCliFigures() {}

    /** One kind of run: a label and the command that races the entrants. */
    private record Racer(String label, List<String> command) {}

    /**
     * One race: the winner's exit to the last loser's exit, ms; the racer's own preemption latency, ms (NaN for the
     * floor); the winner's containment as /proc shows it: "cgroup" in a leaf of Scythe's, else "session".
     */
    private record Run(double outsideMs, double ownMs, String containment) {}

    /** The section "## Race preemption through the CLI". */
    static String section(int rounds) throws Throwable {
        String floorBinary = System.getenv("SCYTHE_RACE_FLOOR");
        String heading = "\n## Race preemption through the CLI\n\n";
        if (floorBinary == null || !Files.isExecutable(Path.of(floorBinary))) {
            return heading + "Skipped: no race floor built (scripts/bench builds jmh/src/main/c/race_floor.c and "
                    + "names it in SCYTHE_RACE_FLOOR).\n";
        }
        List<Racer> racers = new ArrayList<>();
        racers.add(new Racer("race_floor (C, no supervisor)", with(List.of(floorBinary))));
        racers.add(new Racer("`scythe race --containment=session`",
                with(List.of("scripts/scythe", "race", "--json", "--containment=session", "--"))));
        racers.add(new Racer("`scythe race` (the default containment)",
                with(List.of("scripts/scythe", "race", "--json", "--"))));
        // Every child of the started processes seen, by pid, with its start time: Scythe's guard outlives its CLI by a
        // second or two (it removes the cgroup leaves, retrying a busy v1 memory leaf), asleep meanwhile, so it is
        // waited for once, at the end, rather than after every round.
        java.util.Map<Long, String> seen = new java.util.HashMap<>();
        String level = "";
        for (Racer r : racers) { // warm-up: page cache, the native files' cache directory
            level = once(r, seen).containment();
        }
        racers.set(2, new Racer("`scythe race` (the default containment: " + level + " here)",
                racers.get(2).command()));
        double[][] outside = new double[racers.size()][rounds], own = new double[racers.size()][rounds];
        for (int i = 0; i < rounds; i++) {
            for (int k = 0; k < racers.size(); k++) {
                Run x = once(racers.get(k), seen);
                outside[k][i] = x.outsideMs();
                own[k][i] = x.ownMs();
            }
        }
        outlived(seen);
        StringBuilder b = new StringBuilder(heading);
        b.append(String.format(Locale.ROOT, "`RaceCliFigures` (`scripts/bench --race-cli`): whole commands, cold, %d "
                + "alternating rounds, medians. The entrants: `sh -c 'sleep 0.4; exit 0'` (the winner) and 3 `sleep "
                + "300`. The floor is the same race with no supervisor, in C (`jmh/src/main/c/race_floor.c`, compiled "
                + "by `scripts/bench` with the project's Zig, or cc without it): the entrants posix_spawn'ed with "
                + "POSIX_SPAWN_SETSID, a poll(2) on their pidfds until the winner exits, then killpg(SIGKILL) of each "
                + "loser's session and its reaping. Scythe's losers get SIGTERM first (the CLI's default grace, 2 s), "
                + "on which `sleep` exits at once. The figure is taken by neither: this harness finds the entrants "
                + "among the children of the process it started, opens a pidfd on each and polls them (a pidfd turns "
                + "readable at its process's exit, before any reap), from the winner's exit to the last loser's exit. "
                + "The CLI's own figure runs to the last loser's reap as its JVM, cold, records it. Target (issue "
                + "14): Scythe's median at most 2x the floor's.%n%n"
                + "| racer | winner's exit to the last loser's, median ms | p90 ms | ratio to the floor | the CLI's own "
                + "`preemption_latency_ms`, median |%n|---|---:|---:|---:|---:|%n", rounds));
        double floor = median(outside[0]);
        for (int k = 0; k < racers.size(); k++) {
            b.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %s |%n", racers.get(k).label(),
                    median(outside[k]), percentile(outside[k], 90), median(outside[k]) / floor,
                    k == 0 ? "" : String.format(Locale.ROOT, "%.2f", median(own[k]))));
        }
        return b.toString();
    }

    private static List<String> with(List<String> racer) {
        List<String> c = new ArrayList<>(racer);
        c.addAll(ENTRANTS);
        return c;
    }

    /**
     * Runs one race, adding the children of the started process to {@code seen}. Fails if the winner did not win, or
     * if the started process or anything in the entrants' sessions outlived the race.
     */
    private static Run once(Racer racer, java.util.Map<Long, String> seen) throws Throwable {
        Path json = Files.createTempFile("scythe-race-cli", ".json");
        Process p = new ProcessBuilder(racer.command()).redirectOutput(json.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        int[] pids = new int[LOSERS + 1];
        int[] fds = new int[LOSERS + 1];
        Arrays.fill(fds, -1);
        try {
            findEntrants(p, pids, seen);
            for (int k = 0; k < pids.length; k++) {
                fds[k] = RawSpawn.pidfdOpen(pids[k]);
            }
            String level = read(Path.of("/proc/" + pids[0] + "/cgroup")).contains("/scythe-") ? "cgroup" : "session";
            long[] exits = awaitExits(fds);
            if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(racer.command() + " did not win in time: " + p);
            }
            long lastLoser = 0;
            for (int k = 1; k < exits.length; k++) {
                lastLoser = Math.max(lastLoser, exits[k]);
            }
            if (lastLoser < exits[0]) {
                throw new IllegalStateException("a loser exited before the winner: " + Arrays.toString(exits));
            }
            String out = Files.readString(json);
            Matcher m = LATENCY.matcher(out);
            return new Run((lastLoser - exits[0]) / 1e6, m.find() ? Double.parseDouble(m.group(1)) : Double.NaN,
                    level);
        } finally {
            for (int fd : fds) {
                if (fd >= 0) {
                    RawSpawn.closeFd(fd);
                }
            }
            leftovers(p, pids);
            Files.deleteIfExists(json);
        }
    }

    /**
     * Fills {@code pids} with the winner ({@code sh}, first) and the losers ({@code sleep}), children of {@code p}; and
     * {@code seen} with every child of p seen meanwhile (Scythe's guard too), by pid, with its start time.
     */
    private static void findEntrants(Process p, int[] pids, java.util.Map<Long, String> seen) throws Exception {
        long until = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < until && p.isAlive()) {
            int winner = 0, losers = 0;
            for (long child : children(p.pid())) {
                seen.computeIfAbsent(child, RaceCliFigures::startTime);
                String comm = read(Path.of("/proc/" + child + "/comm")).strip();
                if (comm.equals("sh") && winner == 0) {
                    pids[0] = (int) child;
                    winner = 1;
                } else if (comm.equals("sleep") && losers < LOSERS) {
                    pids[1 + losers++] = (int) child;
                }
            }
            if (winner == 1 && losers == LOSERS) {
                return;
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("the entrants of " + p + " never all appeared");
    }

    /** The children of {@code pid}, from every thread's children file. */
    private static List<Long> children(long pid) throws IOException {
        List<Long> kids = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                for (String k : read(t.resolve("children")).trim().split(" ")) {
                    if (!k.isEmpty()) {
                        kids.add(Long.parseLong(k));
                    }
                }
            }
        } catch (IOException gone) {
            // the process or a thread exited meanwhile: what was read is what there is
        }
        return kids;
    }

    /** The start time of a process (field 22 of its stat), "" if it is gone: with the pid, who it is. */
    private static String startTime(long pid) {
        String stat = read(Path.of("/proc/" + pid + "/stat"));
        return stat.isEmpty() ? "" : stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException gone) {
            return "";
        }
    }

    /** Blocks in poll(2) on the pidfds until all are readable; each one's time (nanoTime) when it became so. */
    private static long[] awaitExits(int[] pidfds) throws Throwable {
        long[] at = new long[pidfds.length];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(8L * pidfds.length);
            for (int k = 0; k < pidfds.length; k++) {
                fds.set(ValueLayout.JAVA_INT, 8L * k, pidfds[k]);
                fds.set(ValueLayout.JAVA_SHORT, 8L * k + 4, (short) 1); // POLLIN
            }
            long until = System.nanoTime() + 30_000_000_000L;
            for (int left = pidfds.length; left > 0;) {
                int n = (int) POLL.invokeExact(fds, (long) pidfds.length, 1000);
                long now = System.nanoTime();
                if (n < 0) {
                    continue; // EINTR: poll again
                }
                for (int k = 0; k < pidfds.length; k++) {
                    if (fds.get(ValueLayout.JAVA_SHORT, 8L * k + 6) != 0) {
                        at[k] = now;
                        fds.set(ValueLayout.JAVA_INT, 8L * k, -1); // negative: poll ignores it from now on
                        fds.set(ValueLayout.JAVA_SHORT, 8L * k + 6, (short) 0);
                        left--;
                    }
                }
                if (left > 0 && now > until) {
                    throw new IllegalStateException("entrants still alive after 30 s: " + Arrays.toString(at));
                }
            }
        }
        return at;
    }

    /**
     * Checks that nothing of the run is left: the started process and anything in the entrants' sessions (each entrant
     * leads one). Whatever is found is killed, by its pid or the entrant's group, and the run fails.
     */
    private static void leftovers(Process p, int[] entrants) throws Throwable {
        List<Long> left = new ArrayList<>();
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            left.add(p.pid());
            p.destroyForcibly();
        }
        List<Integer> sessions = Arrays.stream(entrants).filter(x -> x > 0).boxed().toList();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path d : procs.toList()) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String stat = read(d.resolve("stat"));
                if (stat.isEmpty()) {
                    continue;
                }
                // after "pid (comm) ": state ppid pgrp session
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                long ppid = Long.parseLong(f[1]);
                int session = Integer.parseInt(f[3]);
                if (f[0].equals("Z") && ppid != p.pid()) {
                    continue; // a zombie of someone else's
                }
                if (ppid == p.pid() || sessions.contains(session)) {
                    System.err.println("RaceCliFigures: left behind: " + stat);
                    int pid = Integer.parseInt(name);
                    left.add((long) pid);
                    // by its pid, and an entrant's whole group (it leads its session and group); never a group of ours
                    killQuietly(sessions.contains(session) ? -session : pid);
                }
            }
        }
        if (!left.isEmpty()) {
            throw new IllegalStateException("processes of " + p.info().command().orElse("?") + " left behind: " + left
                    + " (killed)");
        }
    }

    /** Waits up to 10 s for the processes in {@code seen} to exit; kills any that did not, by pid, and fails. */
    private static void outlived(java.util.Map<Long, String> seen) throws Exception {
        List<Long> left = new ArrayList<>();
        long until = System.nanoTime() + 10_000_000_000L;
        for (var e : seen.entrySet()) {
            while (!e.getValue().isEmpty() && e.getValue().equals(startTime(e.getKey()))) {
                if (System.nanoTime() > until) {
                    System.err.println("RaceCliFigures: left behind: " + read(Path.of("/proc/" + e.getKey() + "/stat")));
                    left.add(e.getKey());
                    killQuietly((int) (long) e.getKey());
                    break;
                }
                Thread.sleep(5);
            }
        }
        if (!left.isEmpty()) {
            throw new IllegalStateException("children of the races left behind: " + left + " (killed)");
        }
    }

    private static void killQuietly(int target) {
        try {
            RawSpawn.kill(target, 9);
        } catch (Throwable gone) {
            // it exited meanwhile
        }
    }

    private static double median(double[] xs) {
        return percentile(xs, 50);
    }

    private static double percentile(double[] xs, double p) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100 * s.length) - 1)];
    }
}
