package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cases of GNU coreutils' own tests of {@code timeout} (tests/timeout/) that apply to {@code scythe run}, in our
 * own words: exit statuses 124 to 127, the duration grammar, a command started while a child already runs, cascaded
 * timeouts, a parent that ignores SIGCHLD, and a signal inherited ignored. Cases that never need process-wide state
 * run in this JVM through {@link Main#run}; the others run the CLI in a second JVM (a real process, as a user's shell
 * starts it), watch every process below it, and prove each of them gone afterwards.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TimeoutCasesTest {
    private static final long SIGINT_BIT = 1L << (2 - 1), SIGCHLD_BIT = 1L << (17 - 1); // /proc/PID/status SigIgn
    private Leaks.Snapshot baseline;

    /** The first run loads the library and starts its guard, which live as long as this JVM: not a leak of a test. */
    @BeforeAll
    static void warmUp() {
        assertEquals(0, MainTest.cli("run", "--", "true").status());
    }

    @BeforeEach
    void takeBaseline() {
        baseline = Leaks.take();
    }

    @AfterEach
    void nothingLeakedInThisJvm() {
        Leaks.assertNoneSince(baseline);
    }

    // ---- In this JVM: statuses and durations (no process-wide state) ----

    @Test
    void theCommandsOwnStatusPassesThrough() {
        // coreutils tests/timeout/timeout.sh: a command that ends in time gives its own status (0, and 2).
        assertEquals(0, MainTest.cli("run", "--", "true").status());
        assertEquals(0, MainTest.cli("run", "--timeout", "10", "--", "true").status());
        assertEquals(2, MainTest.cli("run", "--timeout", "10", "--", "sh", "-c", "exit 2").status());
    }

    @Test
    void aTimeoutIs124EvenWhenTheCommandThenExits0(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout.sh: a timeout that passes gives 124 (SIGTERM by default).
        long t0 = System.nanoTime();
        MainTest.Result r = MainTest.cli("run", "--timeout", ".1", "--", "sleep", "10");
        assertEquals(124, r.status(), r.err());
        assertTrue(seconds(t0) < 9, "sleep 10 was ended by the timeout, after " + seconds(t0) + " s");
        // coreutils src/timeout.c: once timed out, the status is 124 even if the command then exits 0 by itself.
        Path pids = dir.resolve("pids");
        r = MainTest.cli("run", "--timeout", ".3", "--", "sh", "-c",
                "echo $$ >\"$0\"; trap 'exit 0' TERM; sleep 10 & wait", pids.toString());
        assertEquals(124, r.status(), r.err());
        long job = Long.parseLong(Files.readString(pids).trim());
        assertTrue(ProcessLevelTest.sessionGone(job), "the orphaned sleep 10 in session " + job + " was killed");
    }

    @Test
    void badOptionsAre125AndNamed() {
        // coreutils tests/timeout/timeout-parameters.sh: a usage error is 125, not an execution failure.
        MainTest.Result r = MainTest.cli("run", "--timeout", "invalid", "--", "sleep", "0");
        assertEquals(125, r.status());
        assertTrue(r.err().contains("--timeout: invalid duration 'invalid'"), r.err());
        // coreutils tests/misc/invalid-opt.pl and usage_vs_getopt.sh: an unknown option is 125, and named.
        r = MainTest.cli("run", "--thisoptiondoesnotexist", "--", "true");
        assertEquals(125, r.status());
        assertTrue(r.err().contains("'--thisoptiondoesnotexist'"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void foundButNotExecutableIs126AndNotFoundIs127(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout-parameters.sh: "." is found on PATH but cannot be executed: 126.
        MainTest.Result dot = MainTest.cli("run", "--timeout", "10", "--", ".");
        assertEquals(126, dot.status(), dot.err());
        assertTrue(dot.err().contains("Permission denied"), dot.err());
        assertEquals(126, MainTest.cli("run", "--timeout", "10", "--", dir.toString()).status(), "a directory");
        Path plain = Files.writeString(dir.resolve("no-x-bit"), "#!/bin/sh\nexit 0\n");
        assertEquals(126, MainTest.cli("run", "--timeout", "10", "--", plain.toString()).status(), "no x bit");
        // coreutils tests/timeout/timeout-parameters.sh: a command that is not found is 127.
        MainTest.Result missing = MainTest.cli("run", "--timeout", "10", "--", "no_such_command_scythe_test");
        assertEquals(127, missing.status(), missing.err());
        assertTrue(missing.err().contains("No such file or directory"), missing.err());
    }

    @Test
    void invalidDurationsAre125NamingTheOption() {
        // coreutils tests/timeout/timeout-parameters.sh and timeout-large-parameters.sh: words, negatives (also one
        // that underflows to -0, and -LDBL_MAX), uppercase units and NaN are usage errors; so are the untested forms
        // of the grammar (a unit after a blank or followed by more, empty, a lone point, "infin", a bare exponent).
        for (String d : List.of("invalid", " -0.1", " -1e-10000", "42D", "5S", "1 s", "1s2", "", ".", "nan", "infin",
                "1e", "-1.18973149535723176502e+4932")) {
            MainTest.Result r = MainTest.cli("run", "--timeout", d, "--", "true");
            assertEquals(125, r.status(), "--timeout '" + d + "': " + r.err());
            assertTrue(r.err().contains("--timeout: invalid duration '" + d + "'"), "'" + d + "': " + r.err());
            assertEquals("", r.out());
        }
        // coreutils tests/timeout/timeout-parameters.sh: the second duration (--kill-after there, --grace here) is
        // read by the same parser.
        MainTest.Result r = MainTest.cli("run", "--grace=invalid", "--timeout", "1", "--", "true");
        assertEquals(125, r.status(), r.err());
        assertTrue(r.err().contains("--grace: invalid duration 'invalid'"), r.err());
    }

    @Test
    void validDurationsAreAccepted() {
        // coreutils tests/timeout/timeout.sh, timeout-parameters.sh and timeout-large-parameters.sh: integers, the d
        // unit, fractions, ns precision, sign, leading blank, -0, inf, hex, exponent with a unit, and values beyond
        // time_t, UINT_MAX and LDBL_MAX (clamped to "never", not an error); plus Scythe's own ms.
        for (String d : List.of("10", "1d", "10.34", "9.999999999", "+5", " 1", "-0", "inf", "0x10", "2.34e+5d",
                "9223372036854775808", "4294967296", "9223372036854775808d", "1.18973149535723176502e+4932",
                "500ms")) {
            MainTest.Result r = MainTest.cli("run", "--timeout", d, "--", "true");
            assertEquals(0, r.status(), "--timeout '" + d + "': " + r.err());
        }
        // coreutils tests/timeout/timeout.sh: 0 means no timeout at all.
        assertEquals(0, MainTest.cli("run", "--timeout", "0", "--", "sleep", "0.3").status());
        // coreutils tests/timeout/timeout.sh: a fraction with no leading digit.
        assertEquals(124, MainTest.cli("run", "--timeout", ".1", "--", "sleep", "10").status());
        // coreutils tests/timeout/timeout-parameters.sh: 1e-10000 underflows; rounded up to 1 ns, never down to 0.
        assertEquals(124, MainTest.cli("run", "--timeout", "1e-10000", "--", "sleep", "10").status());
        // Scythe's finer units are accepted (and a timeout that small fires).
        assertEquals(124, MainTest.cli("run", "--timeout", "100us", "--", "sleep", "10").status());
        assertEquals(124, MainTest.cli("run", "--timeout", "5ns", "--", "sleep", "10").status());
    }

    @Test
    void durationsParseToWhatCoreutilsMeans() {
        // coreutils doc/coreutils.texi (hexDuration): in 0x1d the d is a hex digit, not days.
        assertEquals(Duration.ofSeconds(29), Durations.parse("--timeout", "0x1d"));
        // coreutils src/timeout.c: a fraction of a day; 0 and -0 are zero; inf never ends.
        assertEquals(Duration.ofHours(36), Durations.parse("--timeout", "1.5d"));
        assertEquals(Duration.ZERO, Durations.parse("--timeout", "0"));
        assertEquals(Duration.ZERO, Durations.parse("--timeout", "-0"));
        assertNull(Durations.parse("--timeout", "inf"));
        assertNull(Durations.limit("--timeout", "0"), "0 is no limit");
        // coreutils tests/timeout/timeout-parameters.sh: an underflow is the smallest positive duration.
        assertEquals(Duration.ofNanos(1), Durations.parse("--timeout", "1e-10000"));
        assertEquals(Duration.ofMillis(500), Durations.parse("--timeout", "500ms"));
        assertEquals(Duration.ofNanos(100_000), Durations.parse("--timeout", "100us"));
        assertEquals(Duration.ofNanos(5), Durations.parse("--timeout", "5ns"));
    }

    // ---- In a second JVM: a parent's state, signals and process trees ----

    @Test
    void aChildStartedBeforeScytheIsNotTheCommand(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout.sh (bug#9098): a child that ends first is not taken for the command.
        List<String> cli = cli("--default-signal=INT,TERM", "run", "--timeout", ".5", "--", "sh", "-c",
                "sleep 2; echo foo");
        try (Started s = new Started(List.of("sh", "-c", "setsid sleep .1 & exec " + shell(cli)), dir)) {
            assertEquals(124, s.await(), s.err());
            assertEquals("", s.out(), "the command was killed before its echo");
            Seen job = s.tree.find(List.of("sh", "-c", "sleep 2; echo foo"));
            assertNotNull(job, "the job was seen: " + s.tree);
            assertNotNull(s.tree.find(List.of("sleep", ".1")), "the earlier child was seen: " + s.tree);
            assertTrue(ProcessLevelTest.sessionGone(job.pid()), "nothing left in the job's session " + job.pid());
            s.tree.assertAllGone();
        }
    }

    @Test
    void cascadedTimeoutsTheOuterFiresFirst(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout-group.sh: the outer timeout's signal reaches the inner one, which acts on it.
        // Sharper than the coreutils case: with --containment session only the inner scythe can kill its sleep, and
        // with --grace 20 the outer never SIGKILLs it in time; the inner's exit code (143) comes from --json.
        // 3 s: time for the inner JVM to start and spawn its job on a loaded machine before the outer fires.
        List<String> command = new ArrayList<>(List.of("run", "--json", "--containment", "session", "--grace", "20",
                "--timeout", "3", "--"));
        command.addAll(cli("--default-signal=INT,TERM", "run", "--timeout", "30", "--", "sleep", "60"));
        try (Started s = new Started(cli("--default-signal=INT,TERM", command.toArray(String[]::new)), dir)) {
            Seen sleep = s.tree.await(List.of("sleep", "60"), 20_000);
            assertNotNull(sleep, "the inner scythe started its job: " + s.tree);
            assertEquals(124, s.await(), s.out() + s.err());
            assertTrue(s.seconds() < 15, "the outer exited " + s.seconds() + " s after its start, before its grace");
            String outcome = outcome(s.out());
            assertTrue(outcome.contains("\"kind\":\"timed_out\""), outcome);
            assertTrue(outcome.contains("\"exit_code\":143"), "the inner scythe handled SIGTERM: " + outcome);
            assertTrue(ProcessLevelTest.sessionGone(sleep.pid()), "no sleep 60 left: " + sleep);
            s.tree.assertAllGone();
        }
    }

    @Test
    void cascadedTimeoutsTheInnerFiresFirst(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout-group.sh: the outer scythe passes on the inner one's 124.
        List<String> command = new ArrayList<>(List.of("run", "--timeout", "30", "--"));
        command.addAll(cli("--default-signal=INT,TERM", "run", "--timeout", ".5", "--", "sleep", "60"));
        try (Started s = new Started(cli("--default-signal=INT,TERM", command.toArray(String[]::new)), dir)) {
            Seen sleep = s.tree.await(List.of("sleep", "60"), 20_000);
            assertNotNull(sleep, "the inner scythe started its job: " + s.tree);
            assertEquals(124, s.await(), s.out() + s.err());
            assertTrue(s.seconds() < 25, "the inner timeout ended it, " + s.seconds() + " s after its start");
            assertTrue(ProcessLevelTest.sessionGone(sleep.pid()), "no sleep 60 left: " + sleep);
            s.tree.assertAllGone();
        }
    }

    @Test
    void bashReallyPassesAnIgnoredSigchldOn() throws Exception {
        // The setup of the next tests: bash's trap '' CHLD reaches the programs it execs. (Debian's sh, dash, lists
        // the trap but execs programs with SIGCHLD at its default, so there the case would test nothing.)
        Process p = new ProcessBuilder("bash", "-c", "trap '' CHLD; exec grep SigIgn /proc/self/status")
                .redirectInput(new File("/dev/null")).redirectErrorStream(true).start();
        try {
            String line = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            assertTrue(line.startsWith("SigIgn:"), line);
            assertTrue((Long.parseUnsignedLong(line.substring(7).trim(), 16) & SIGCHLD_BIT) != 0, line);
        } finally {
            p.destroyForcibly();
            p.waitFor();
            p.getInputStream().close();
        }
    }

    @Test
    void aParentIgnoringSigchldDoesNotTurnFailuresIntoSuccess(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout.sh: a parent that ignores SIGCHLD does not change the command's status.
        Path pid = dir.resolve("pid");
        try (Started s = chldIgnored(dir, "run", "--", "sh", "-c", "echo $$ >\"$0\"; exit 3", pid.toString())) {
            assertEquals(3, s.await(), s.err());
            assertTrue(s.tree.javaHadChldIgnored(), "the CLI's JVM started with SIGCHLD ignored: " + s.tree);
            assertTrue(ProcessLevelTest.sessionGone(Long.parseLong(Files.readString(pid).trim())));
            s.tree.assertAllGone();
        }
        try (Started s = chldIgnored(dir, "run", "--", "sh", "-c", "echo $$ >\"$0\"; kill -9 $$", pid.toString())) {
            assertEquals(128 + 9, s.await(), s.err());
            assertTrue(s.tree.javaHadChldIgnored(), "the CLI's JVM started with SIGCHLD ignored: " + s.tree);
            assertTrue(ProcessLevelTest.sessionGone(Long.parseLong(Files.readString(pid).trim())));
            s.tree.assertAllGone();
        }
        try (Started s = chldIgnored(dir, "run", "--json", "--", "sh", "-c", "exit 3")) {
            assertEquals(3, s.await(), s.err());
            assertTrue(s.tree.javaHadChldIgnored(), "the CLI's JVM started with SIGCHLD ignored: " + s.tree);
            String outcome = outcome(s.out());
            assertTrue(outcome.contains("\"kind\":\"failure\""), outcome);
            assertTrue(outcome.contains("\"exit_code\":3"), outcome);
            Matcher job = Pattern.compile("\"pid\":(\\d+)").matcher(s.out());
            assertTrue(job.find(), s.out());
            assertTrue(ProcessLevelTest.sessionGone(Long.parseLong(job.group(1))));
            s.tree.assertAllGone();
        }
    }

    @Test
    void aParentIgnoringSigchldDoesNotLetAFailingEntrantWin(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout.sh (SIGCHLD ignored by the parent), applied to a race: failure stays failure.
        Path p1 = dir.resolve("p1"), p2 = dir.resolve("p2");
        try (Started s = chldIgnored(dir, "race", "--", "sh", "-c", "echo $$ >\"$0\"; exit 1", p1.toString(), ":::",
                "sh", "-c", "echo $$ >\"$0\"; sleep 0.3; exit 0", p2.toString())) {
            assertEquals(0, s.await(), s.out() + s.err());
            assertTrue(s.tree.javaHadChldIgnored(), "the CLI's JVM started with SIGCHLD ignored: " + s.tree);
            assertTrue(s.out().contains("winner: 2:sh"), s.out());
            assertTrue(s.out().contains("failure (exit 1)"), s.out());
            for (Path p : List.of(p1, p2)) {
                assertTrue(ProcessLevelTest.sessionGone(Long.parseLong(Files.readString(p).trim())), p.toString());
            }
            s.tree.assertAllGone();
        }
    }

    @Test
    void aSigintInheritedIgnoredStaysIgnoredButSigtermEndsTheJob(@TempDir Path dir) throws Exception {
        // coreutils tests/timeout/timeout-group.sh (9.10+): a signal inherited ignored stays ignored (`scythe ... &`).
        try (Started s = new Started(cli("--ignore-signal=INT", "run", "--", "sleep", "300"), dir)) {
            Seen job = s.tree.await(List.of("sleep", "300"), 20_000);
            assertNotNull(job, "the CLI started its job: " + s.tree);
            Thread.sleep(300); // the CLI sets up its signal handling right after the start
            kill("INT", s.process.pid());
            Thread.sleep(1_000);
            assertTrue(s.process.isAlive(), "SIGINT did nothing to the CLI: " + s.err());
            assertTrue(!gone(job), "nor to its job");
            assertTrue((sigIgn(s.process.pid()) & SIGINT_BIT) != 0, "SIGINT is still ignored");
            kill("TERM", s.process.pid());
            assertEquals(128 + 15, s.await(), s.err());
            assertTrue(ProcessLevelTest.sessionGone(job.pid()), "the job's session " + job.pid() + " is gone");
            s.tree.assertAllGone();
        }
    }

    // ---- Helpers ----

    /** The CLI in a second JVM, under {@code env SIGNALS} (e.g. --default-signal=INT,TERM), as a command line. */
    static List<String> cli(String signals, String... args) {
        List<String> cmd = new ArrayList<>(List.of("env", signals, ProcessHandle.current().info().command()
                .orElseThrow(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The CLI started by bash with SIGCHLD ignored, as coreutils' test starts timeout. */
    Started chldIgnored(Path dir, String... args) throws IOException {
        return new Started(List.of("bash", "-c", "trap '' CHLD; exec " + shell(cli("--default-signal=INT,TERM",
                args))), dir);
    }

    /** One command line for sh or bash: each word single-quoted. */
    static String shell(List<String> words) {
        return words.stream().map(w -> "'" + w.replace("'", "'\\''") + "'").collect(Collectors.joining(" "));
    }

    /** The one outcome object of a run's JSON (it holds no nested object). */
    static String outcome(String json) {
        Matcher m = Pattern.compile("\"outcome\":\\{[^}]*\\}").matcher(json);
        assertTrue(m.find(), json);
        return m.group();
    }

    static void kill(String signal, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                .redirectInput(new File("/dev/null")).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start().waitFor());
    }

    static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The ignored-signal mask of pid, from /proc/PID/status; 0 if it is gone. */
    static long sigIgn(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("SigIgn:")) {
                    return Long.parseUnsignedLong(l.substring(7).trim(), 16);
                }
            }
        } catch (IOException gone) {
            // exited meanwhile
        }
        return 0;
    }

    /** A process seen below a started command: its pid, its start time (clock ticks since boot) and latest argv. */
    record Seen(long pid, String start, List<String> argv) {
        @Override
        public String toString() {
            return pid + " " + String.join(" ", argv).replaceAll("-cp \\S+", "-cp ...");
        }
    }

    /** Whether a seen process is gone: no such pid, a zombie, or the pid now names a later process. */
    static boolean gone(Seen p) {
        String[] st = Leaks.stat(p.pid());
        return st == null || st[0].equals("Z") || !st[19].equals(p.start());
    }

    /** A command started as a real process, with every process seen below it; closing kills what is left, by pid. */
    static final class Started implements AutoCloseable {
        private static int count;
        final Process process;
        final Tree tree;
        private final Path out, err;
        private final long t0 = System.nanoTime();

        Started(List<String> command, Path dir) throws IOException {
            int n = ++count;
            out = dir.resolve("out-" + n);
            err = dir.resolve("err-" + n);
            process = new ProcessBuilder(command).redirectInput(new File("/dev/null")).redirectOutput(out.toFile())
                    .redirectError(err.toFile()).start();
            tree = new Tree(process.pid());
        }

        int await() throws Exception {
            assertTrue(process.waitFor(45, TimeUnit.SECONDS), "the CLI exited; its stderr: " + err());
            return process.exitValue();
        }

        double seconds() {
            return TimeoutCasesTest.seconds(t0);
        }

        String out() throws IOException {
            return Files.readString(out, StandardCharsets.UTF_8);
        }

        String err() throws IOException {
            return Files.readString(err, StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the test was cancelled: still kill what is left, below
            }
            tree.close();
            for (Seen p : tree.seen.values()) { // only if a test failed: what this test started, by pid
                if (!gone(p)) {
                    ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
    }

    /**
     * Every process seen below a root pid while it runs, swept from /proc every 2 ms. Processes orphaned on the way
     * stay recorded, so that a test can prove each one gone. Also records whether the root, once it is a JVM, had
     * SIGCHLD ignored when first seen so.
     */
    static final class Tree implements AutoCloseable {
        final Map<Long, Seen> seen = new ConcurrentHashMap<>();
        private final long root;
        private final Thread thread;
        private volatile boolean closed, javaSeen, javaChldIgnored;

        Tree(long root) {
            this.root = root;
            thread = Thread.ofPlatform().name("tree-of-" + root).daemon().start(this::watch);
        }

        private void watch() {
            while (!closed) {
                Deque<Long> todo = new ArrayDeque<>(List.of(root));
                while (!todo.isEmpty()) {
                    long pid = todo.pop();
                    record(pid);
                    todo.addAll(children(pid));
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private void record(long pid) {
            String[] st = Leaks.stat(pid);
            List<String> argv;
            try {
                argv = Arrays.asList(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")),
                        StandardCharsets.UTF_8).split("\0"));
            } catch (IOException gone) {
                return;
            }
            if (st == null || st[0].equals("Z") || argv.isEmpty() || argv.get(0).isEmpty()) {
                return; // gone, or a zombie whose argv the kernel no longer shows
            }
            Seen before = seen.get(pid);
            if (before == null || !before.start().equals(st[19]) || !before.argv().equals(argv)) {
                seen.put(pid, new Seen(pid, st[19], argv));
            }
            if (pid == root && !javaSeen && argv.get(0).endsWith("/java")) { // read after argv: the JVM's own mask
                javaSeen = true;
                javaChldIgnored = (sigIgn(pid) & SIGCHLD_BIT) != 0;
            }
        }

        private static List<Long> children(long pid) {
            List<Long> out = new ArrayList<>();
            try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
                for (Path task : tasks.toList()) {
                    try {
                        for (String s : Files.readString(task.resolve("children")).trim().split(" ")) {
                            if (!s.isEmpty()) {
                                out.add(Long.parseLong(s));
                            }
                        }
                    } catch (IOException threadGone) {
                        // exited meanwhile
                    }
                }
            } catch (IOException gone) {
                // exited meanwhile
            }
            return out;
        }

        boolean javaHadChldIgnored() {
            return javaChldIgnored;
        }

        /** A process seen with exactly this argv, or null. */
        Seen find(List<String> argv) {
            return seen.values().stream().filter(p -> p.argv().equals(argv)).findFirst().orElse(null);
        }

        /** Waits up to {@code millis} for a process with exactly this argv. */
        Seen await(List<String> argv, long millis) throws InterruptedException {
            long until = System.nanoTime() + millis * 1_000_000;
            Seen p;
            while ((p = find(argv)) == null && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            return p;
        }

        /** Waits up to 5 s for every process seen (the guard, the jobs, their children) to be gone; asserts it. */
        void assertAllGone() throws InterruptedException {
            long until = System.nanoTime() + 5_000_000_000L;
            List<Seen> left;
            while (!(left = seen.values().stream().filter(p -> !gone(p)).toList()).isEmpty()
                    && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertEquals(List.of(), left, "processes left of " + this);
        }

        @Override
        public void close() {
            closed = true;
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public String toString() {
            return "the tree of " + root + ": " + seen.values();
        }
    }
}
