package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Whole-JVM behaviour, in a second JVM: Ctrl-C to {@code scythe run} kills the job's session before scythe exits
 * with 130, and a JVM that exits with live jobs kills them in its shutdown hook.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ProcessLevelTest {

    /**
     * A second JVM, started as from a terminal: with SIGINT and SIGTERM at their default disposition. A build run as
     * a background job of a non-interactive shell (as CI may) inherits SIGINT ignored, the JDK keeps an ignored
     * SIGINT ignored, and ProcessBuilder passes the disposition on; {@code env --default-signal} undoes that.
     */
    static ProcessBuilder jvm(String mainClass, String... args) {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT,TERM", java,
                "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true);
    }

    /** Children of pid (forked by any of its threads), read from /proc. */
    static List<Long> children(long pid) throws Exception {
        List<Long> out = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks.toList()) {
                String kids;
                try {
                    kids = Files.readString(task.resolve("children"));
                } catch (java.io.IOException threadGone) {
                    continue;
                }
                for (String s : kids.trim().split(" ")) {
                    if (!s.isEmpty()) {
                        out.add(Long.parseLong(s));
                    }
                }
            }
        }
        return out;
    }

    /**
     * Whether pid has exec'd {@code sh}. The CLI's JVM has other children (its guard), and any child is briefly a
     * copy of the JVM before its exec, so a child is the job only once its argv says so.
     */
    static boolean isShellJob(long pid) {
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).startsWith("sh\0");
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    static boolean sessionGone(long sid) throws Exception {
        for (int i = 0; i < 500; i++) {
            boolean any = false;
            for (ProcessHandle p : ProcessHandle.allProcesses().toList()) {
                Path stat = Path.of("/proc/" + p.pid() + "/stat");
                try {
                    String s = Files.readString(stat);
                    String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                    if (Long.parseLong(f[3]) == sid && !f[0].equals("Z")) {
                        any = true;
                    }
                } catch (java.io.IOException gone) {
                    // exited meanwhile
                }
            }
            if (!any) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    @Test
    void ctrlCKillsTheSessionAndExits130() throws Exception {
        interruptTheCli("INT", 130);
    }

    @Test
    void sigtermKillsTheSessionAndExits143() throws Exception {
        interruptTheCli("TERM", 143);
    }

    void interruptTheCli(String signal, int expectedStatus) throws Exception {
        Process cli = jvm(Main.class.getName(), "run", "--", "sh", "-c", "sleep 300 & sleep 300").start();
        long job = -1;
        for (int i = 0; i < 1000 && job < 0; i++) {
            List<Long> kids = children(cli.pid()).stream().filter(ProcessLevelTest::isShellJob).toList();
            if (!kids.isEmpty()) {
                job = kids.get(0);
            } else {
                Thread.sleep(10);
            }
        }
        assertTrue(job > 0, "the CLI started its job");
        for (int i = 0; i < 500 && children(job).size() < 2; i++) {
            Thread.sleep(10);
        }
        assertEquals(2, children(job).size(), "sh started both sleeps");
        new ProcessBuilder("kill", "-" + signal, Long.toString(cli.pid())).start().waitFor();
        assertTrue(cli.waitFor(30, TimeUnit.SECONDS));
        assertEquals(expectedStatus, cli.exitValue(), new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        assertTrue(sessionGone(job), "nothing left in session " + job);
    }

    @Test
    void shutdownHookKillsLiveJobs() throws Exception {
        Process child = jvm(ExitWithLiveJob.class.getName()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        assertTrue(line != null && line.startsWith("pid "), "child said: " + line);
        long sid = Long.parseLong(line.substring(4));
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue());
        assertTrue(sessionGone(sid), "the shutdown hook killed session " + sid);
    }

    @Test
    void killMinus9OfTheJvmKillsEveryJobWithinASecond() throws Exception {
        Process child = jvm(StartJobsAndWait.class.getName()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        assertTrue(line != null && line.startsWith("pids "), "child said: " + line);
        List<Long> sessions = java.util.Arrays.stream(line.substring(5).trim().split(" ")).map(Long::parseLong)
                .toList();
        assertEquals(5, sessions.size());
        long t0 = System.nanoTime();
        child.destroyForcibly(); // SIGKILL: no shutdown hook runs, only the guard can act
        child.waitFor();
        for (long sid : sessions) {
            assertTrue(sessionGone(sid), "the guard killed session " + sid);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 1_000, "sessions gone " + ms + " ms after the JVM's death");
    }

    @Test
    void killMinus9OfTheJvmKillsItsCgroupsEscapeesAndRemovesItsCgroups() throws Exception {
        Process child = jvm(StartEscapingCgroupJobsAndWait.class.getName()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        assertTrue(line != null && line.startsWith("pids "), "child said: " + line);
        List<Long> jobs = java.util.Arrays.stream(line.substring(5).trim().split(" ")).map(Long::parseLong).toList();
        assertEquals(2, jobs.size());
        // Every process in the jobs' leaves, and the parents of those leaves in every hierarchy (v2, v1 memory, pids).
        List<Long> inLeaves = new ArrayList<>();
        java.util.Set<Path> parents = new java.util.TreeSet<>();
        try {
            List<Path> v2Leaves = new ArrayList<>();
            for (long job : jobs) {
                List<Path> leaves = cgroupLeaves(job);
                assertEquals(3, leaves.size(), "job " + job + " has a v2, a memory and a pids leaf: " + leaves);
                for (Path leaf : leaves) {
                    assertEquals("scythe-" + child.pid(), leaf.getParent().getFileName().toString(), leaf.toString());
                    parents.add(leaf.getParent());
                }
                v2Leaves.add(leaves.get(0));
            }
            assertEquals(3, parents.size(), "one parent per hierarchy: " + parents);
            long escapees = 0;
            for (int i = 0; i < 500 && escapees < 2; i++) { // the grandchildren call setsid() a moment after they start
                Thread.sleep(10);
                inLeaves.clear();
                for (Path leaf : v2Leaves) {
                    for (String pid : Files.readAllLines(leaf.resolve("cgroup.procs"))) {
                        inLeaves.add(Long.parseLong(pid.trim()));
                    }
                }
                escapees = inLeaves.stream().filter(pid -> !jobs.contains(sessionOf(pid))).count();
            }
            assertEquals(2, escapees, "each job has a grandchild that left its session: " + inLeaves);
            child.destroyForcibly(); // SIGKILL: no shutdown hook runs, only the guard can act
            child.waitFor();
            for (long pid : inLeaves) {
                assertTrue(dev.scythe.Leaks.gone(pid), "the guard killed " + pid
                        + ", in the cgroup but in no listed session");
            }
            for (Path parent : parents) {
                for (int i = 0; i < 500 && Files.exists(parent); i++) {
                    Thread.sleep(10);
                }
                assertTrue(!Files.exists(parent), "the guard removed " + parent);
            }
        } finally {
            child.destroyForcibly();
            child.waitFor();
            for (long pid : inLeaves) { // only if the guard failed: what this test started, by pid
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            for (Path parent : parents) { // and the child JVM's cgroups (rmdir; a cgroup's files are not removable)
                for (int i = 0; i < 100 && Files.exists(parent); i++) {
                    try (var leaves = Files.list(parent)) {
                        for (Path leaf : leaves.filter(Files::isDirectory).toList()) {
                            Files.deleteIfExists(leaf);
                        }
                        Files.deleteIfExists(parent);
                    } catch (java.io.IOException busy) {
                        Thread.sleep(20); // a leaf whose last process is still being torn down
                    }
                }
            }
        }
    }

    @Test
    void aKilledGuardIsRestartedAndAKillMinus9LaterStillCleansUp() throws Exception {
        // Regression: with its guard killed the JVM ran on silently, and a later kill -9 of it left its jobs and its
        // v2 parent cgroup behind.
        Process child = jvm(StartJobsAndWait.class.getName()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        List<Long> sessions = List.of();
        try {
            String line = r.readLine();
            assertTrue(line != null && line.startsWith("pids "), "child said: " + line);
            sessions = java.util.Arrays.stream(line.substring(5).trim().split(" ")).map(Long::parseLong).toList();
            // At the cgroup level (the default where the machine allows), the parent of the jobs' leaves, each hierarchy.
            java.util.Set<Path> parents = new java.util.TreeSet<>();
            for (long sid : sessions) {
                cgroupLeaves(sid).forEach(leaf -> parents.add(leaf.getParent()));
            }
            long guard = guardOf(child.pid());
            assertTrue(guard > 0, "the child JVM has a guard");
            new ProcessBuilder("kill", "-KILL", Long.toString(guard)).start().waitFor();
            long restarted = -1;
            for (int i = 0; i < 500 && (restarted <= 0 || restarted == guard); i++) {
                Thread.sleep(10);
                restarted = guardOf(child.pid());
            }
            assertTrue(restarted > 0 && restarted != guard, "a new guard replaced " + guard + ": " + restarted);
            String log = r.readLine() + "\n" + r.readLine();
            assertTrue(log.contains("scythe guard (pid " + guard + ") died; restarted as pid " + restarted
                    + ", covering the 5 live jobs"), "the JVM said so in its log: " + log);
            child.destroyForcibly(); // SIGKILL: only the new guard can act
            child.waitFor();
            for (long sid : sessions) {
                assertTrue(sessionGone(sid), "the restarted guard killed session " + sid);
            }
            for (Path parent : parents) {
                for (int i = 0; i < 500 && Files.exists(parent); i++) {
                    Thread.sleep(10);
                }
                assertTrue(!Files.exists(parent), "the restarted guard removed " + parent);
            }
        } finally {
            child.destroyForcibly();
            child.waitFor();
            for (long sid : sessions) { // only if the guard failed: what this test started, by session
                for (long pid : dev.scythe.Leaks.inSession(sid)) {
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
    }

    /** The pid of jvm's guard: its child whose command is scythe-guard; -1 if none (yet). */
    static long guardOf(long jvm) throws Exception {
        for (long kid : children(jvm)) {
            try {
                // The executable, not comm: a new guard renames itself only a moment after it starts.
                if (Files.readSymbolicLink(Path.of("/proc/" + kid + "/exe")).getFileName().toString()
                        .equals("scythe-guard")) {
                    return kid;
                }
            } catch (java.io.IOException gone) {
                // exited meanwhile
            }
        }
        return -1;
    }

    /** The session of pid, or -1 if it is gone or a zombie. */
    static long sessionOf(long pid) {
        String[] f = dev.scythe.Leaks.stat(pid);
        return f == null || f[0].equals("Z") ? -1 : Long.parseLong(f[3]);
    }

    /** pid's cgroups in the v2, v1 memory and v1 pids hierarchies, where it is in one of Scythe's leaves. */
    static List<Path> cgroupLeaves(long pid) {
        return dev.scythe.Leaks.cgroupDirs(pid).values().stream()
                .filter(dir -> dir.getParent().getFileName().toString().startsWith("scythe-")).toList();
    }

    /**
     * In a second JVM: starts {@code count} jobs of {@code spec}, waits until each has {@code children} children, prints
     * {@code pids P1 P2 ...}, then waits to be killed.
     */
    static void startJobsAndWait(dev.scythe.ProcessSpec spec, int count, int children) throws Exception {
        dev.scythe.Supervisor s = new dev.scythe.Supervisor();
        if (dev.scythe.Scythe.guardPid() <= 0) {
            System.out.println("no guard: " + dev.scythe.Scythe.guardUnavailabilityCause());
            return;
        }
        StringBuilder pids = new StringBuilder("pids");
        for (int i = 0; i < count; i++) {
            dev.scythe.Job job = s.start(spec);
            if (job.isDone()) {
                System.out.println("not started: " + job.await());
                return;
            }
            while (children(job.pid()).size() < children) {
                Thread.sleep(10);
            }
            pids.append(' ').append(job.pid());
        }
        System.out.println(pids);
        System.out.flush();
        Thread.sleep(300_000);
    }

    /**
     * Starts two cgroup-level jobs with memory and process limits (a leaf in each hierarchy), each with a grandchild
     * that calls setsid(), then waits to be killed.
     */
    public static final class StartEscapingCgroupJobsAndWait {
        public static void main(String[] args) throws Exception {
            startJobsAndWait(dev.scythe.ProcessSpec.builder("sh", "-c", "setsid sleep 300 & sleep 300")
                    .containment(dev.scythe.Containment.CGROUP).memoryLimit(1L << 30).processLimit(100).build(), 2, 2);
        }
    }

    /** Starts five jobs with grandchildren, then waits to be killed. */
    public static final class StartJobsAndWait {
        public static void main(String[] args) throws Exception {
            startJobsAndWait(dev.scythe.ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300"), 5, 1);
        }
    }

    @Test
    void aJvmStartedWithSigchldIgnoredStillGetsEveryStatus() throws Exception {
        // Regression: with SIGCHLD ignored the kernel reaped every job and each was reported a success.
        String java = ProcessHandle.current().info().command().orElseThrow();
        // bash, not dash: dash does not pass an ignored SIGCHLD on to what it execs.
        Process p = new ProcessBuilder("bash", "-c", "trap '' CHLD; exec \"$0\" --enable-native-access=ALL-UNNAMED -cp "
                + "\"$1\" \"$2\"", java, System.getProperty("java.class.path"), PrintOutcomes.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("SIGCHLD ignored at start: true"), "the JVM really started with SIGCHLD ignored: " + out);
        assertTrue(out.contains("Failure[exitCode=3"), out);
        assertTrue(out.contains("Crashed[signal=9"), out);
        assertTrue(out.contains("Success["), out);
        Matcher guard = Pattern.compile("guard (\\d+)").matcher(out);
        assertTrue(guard.find(), out);
        dev.scythe.Leaks.assertGone(Long.parseLong(guard.group(1)), "that JVM's guard");
    }

    /** Prints whether SIGCHLD was ignored when it started, then the outcomes of three jobs. */
    public static final class PrintOutcomes {
        public static void main(String[] args) throws Exception {
            String status = Files.readString(Path.of("/proc/self/status"));
            long ign = Long.parseLong(status.lines().filter(l -> l.startsWith("SigIgn:")).findFirst().orElseThrow()
                    .substring(7).trim(), 16);
            System.out.println("SIGCHLD ignored at start: " + ((ign & (1L << (17 - 1))) != 0));
            try (dev.scythe.Supervisor s = new dev.scythe.Supervisor()) {
                for (String script : new String[] {"exit 3", "kill -9 $$", "exit 0"}) {
                    System.out.println(s.start(dev.scythe.ProcessSpec.of("sh", "-c", script)).await());
                }
                System.out.println("guard " + dev.scythe.Scythe.guardPid());
            }
        }
    }

    /** Starts a job with a grandchild, prints its pid, then exits the JVM normally without closing anything. */
    public static final class ExitWithLiveJob {
        public static void main(String[] args) throws Exception {
            dev.scythe.Supervisor s = new dev.scythe.Supervisor();
            dev.scythe.Job job = s.start(dev.scythe.ProcessSpec.of("sh", "-c", "sleep 300 & sleep 300"));
            while (children(job.pid()).isEmpty()) {
                Thread.sleep(10);
            }
            System.out.println("pid " + job.pid());
            System.out.flush();
            System.exit(0);
        }
    }
}
