package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/scythe as a user runs it, against the CLI jar of this build: bytes pass through unchanged whatever the
 * locale (LANG unset, as under cron, systemd or env -i), a job's environment is its caller's and nothing more, and
 * an unset HOME or a deleted working directory gets a clear answer.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LauncherIT extends LeakCheckedTest {
    static final Path SCYTHE = dev.scythe.Checkout.resolve("scripts/scythe");
    static final byte[] CAFE_LATIN1 = {'c', 'a', 'f', (byte) 0xe9};

    record Run(int status, byte[] out, String err) {
        String text() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    /**
     * Runs {@code env -i ENV... scripts/scythe ARGS...} in {@code dir}: a bare environment, no LANG, no HOME. The
     * arguments are bytes, so they can hold what a Java string cannot; they are passed through a shell's printf.
     */
    static Run scythe(Path dir, List<String> env, List<byte[]> args) throws Exception {
        // Java passes strings to ProcessBuilder as UTF-8 (our locale); raw bytes need a shell that makes them.
        StringBuilder script = new StringBuilder("exec env -i");
        for (String e : env) {
            script.append(" '").append(e).append('\'');
        }
        script.append(" \"$0\"");
        for (byte[] arg : args) {
            script.append(" \"$(printf '").append(octal(arg)).append("')\"");
        }
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", script.toString(), SCYTHE.toString()));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                p.getInputStream().transferTo(out);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "scythe finished");
            reader.join();
        } finally {
            p.destroyForcibly(); // only what this test started, by pid
            p.waitFor();
        }
        return new Run(p.exitValue(), out.toByteArray(), err);
    }

    static Run scythe(Path dir, String... args) throws Exception {
        return scythe(dir, List.of("PATH=/usr/bin:/bin"), List.of(args).stream()
                .map(a -> a.getBytes(StandardCharsets.UTF_8)).toList());
    }

    private static String octal(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("\\%03o", x & 0xff));
        }
        return s.toString();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void argumentsThatAreNotUtf8ReachTheJobByteForByte(@TempDir Path dir) throws Exception {
        // Regression: `scythe run -- printf %s $'A\xff\xfeB'` gave the child 41 ef bf bd ef bf bd 42.
        byte[] arg = {'A', (byte) 0xff, (byte) 0xfe, 'B'};
        Run r = scythe(dir, List.of("PATH=/usr/bin:/bin"), List.of(bytes("run"), bytes("--"), bytes("printf"),
                bytes("%s"), arg));
        assertEquals(0, r.status(), r.err());
        assertArrayEquals(arg, r.out());
        // Regression: `scythe run -- cat $'caf\xe9.txt'` said "No such file" for a file that exists.
        byte[] name = concat(CAFE_LATIN1, bytes(".txt"));
        Files.writeString(dev.scythe.OsStrings.path(concat(bytes(dir + "/"), name)), "contents");
        Run cat = scythe(dir, List.of("PATH=/usr/bin:/bin"), List.of(bytes("run"), bytes("--"), bytes("cat"), name));
        assertEquals(0, cat.status(), cat.err());
        assertEquals("contents", cat.text());
        // And a path option: a progress directory whose name is not UTF-8.
        Files.createDirectories(dev.scythe.OsStrings.path(concat(bytes(dir + "/"), CAFE_LATIN1)));
        Run stall = scythe(dir, List.of("PATH=/usr/bin:/bin"), List.of(bytes("run"), bytes("--stall"),
                bytes("300ms"), bytes("--progress"), CAFE_LATIN1, bytes("--"), bytes("sleep"), bytes("30")));
        assertEquals(124, stall.status(), stall.err());
    }

    @Test
    void outputDoesNotDependOnTheLocale(@TempDir Path dir) throws Exception {
        // Regression: with LANG unset, --json printed every non-ASCII character as '?'.
        Run json = scythe(dir, "run", "--json", "--", "printf", "caf\\303\\251 \\342\\210\\200x");
        assertEquals(0, json.status(), json.err());
        assertTrue(json.text().contains("\"text\":\"café ∀x\""), json.text());
        // Regression: --progress-output decoded and re-encoded what it echoed; random bytes differed from byte 1.
        byte[] random = new byte[100_000];
        new Random(11).nextBytes(random);
        Path file = Files.write(dir.resolve("random.bin"), random);
        Run echo = scythe(dir, "run", "--stall", "10s", "--progress-output", "--", "cat", file.toString());
        assertEquals(0, echo.status(), echo.err());
        assertArrayEquals(random, echo.out());
        // Help and messages are UTF-8 too, and not '?'.
        Run race = scythe(dir, "race", "--", "printf", "caf\\303\\251");
        assertTrue(race.text().contains("café"), race.text());
    }

    /** The JVM that runs a job is the job's parent: its command line says which JIT tiers the launcher gave it. */
    @Test
    void runAndRaceStartWithTheFirstJitTierOnlyAndOtherCommandsWithBoth(@TempDir Path dir) throws Exception {
        // Each job prints its parent's (the CLI's JVM's) command line, then, on the same line, its pid and the JVM's.
        String jvm = "tr '\\000' ' ' </proc/$PPID/cmdline; echo \"pids $$ $PPID\"";
        Run run = scythe(dir, "run", "--", "sh", "-c", jvm);
        assertEquals(0, run.status(), run.err());
        assertTrue(run.text().contains("-XX:TieredStopAtLevel=1"), run.text());
        assertAllGone(run.text());
        Run race = scythe(dir, "race", "--", "sh", "-c", jvm);
        assertEquals(0, race.status(), race.err());
        assertTrue(race.text().contains("-XX:TieredStopAtLevel=1"), race.text());
        assertAllGone(race.text());
        // A pool's worker that dies at once: its stderr's tail (the JVM's command line) is in the task's line.
        Run pool = scythe(dir, "pool", "--protocol", "bazel", "--", "sh", "-c", "(" + jvm + ") >&2; exit 3", ":::",
                "t");
        assertTrue(pool.text().contains("scythe-cli.jar") && !pool.text().contains("TieredStopAtLevel"), pool.text());
        assertAllGone(pool.text());
    }

    /** Every "pids JOB JVM" line of {@code text} names processes that are gone now that the CLI has returned. */
    private static void assertAllGone(String text) {
        var m = java.util.regex.Pattern.compile("pids (\\d+) (\\d+)").matcher(text);
        int seen = 0;
        while (m.find()) {
            for (int g = 1; g <= 2; g++) {
                long pid = Long.parseLong(m.group(g));
                assertTrue(ProcessHandle.of(pid).isEmpty(), "process " + pid + " outlived the CLI: " + text);
            }
            seen++;
        }
        assertTrue(seen > 0, "no pids in: " + text);
    }

    @Test
    void aJobsEnvironmentIsItsCallersAndNothingMore(@TempDir Path dir) throws Exception {
        // Regression: every job gained SCYTHE_JAVA_HOME, PWD and SHLVL from the launcher.
        Run r = scythe(dir, List.of("PATH=/usr/bin:/bin", "FOO=bar baz"), List.of(bytes("run"), bytes("--"),
                bytes("env")));
        assertEquals(0, r.status(), r.err());
        assertEquals("PATH=/usr/bin:/bin\nFOO=bar baz\n", r.text());
        Run shlvl = scythe(dir, List.of("PATH=/usr/bin:/bin", "SHLVL=7", "PWD=/somewhere"), List.of(bytes("run"),
                bytes("--"), bytes("env")));
        assertEquals("PATH=/usr/bin:/bin\nSHLVL=7\nPWD=/somewhere\n", shlvl.text(), "the caller's own values, as given");
    }

    @Test
    void noHomeAndADeletedDirectory(@TempDir Path dir) throws Exception {
        // Regression: scripts/scythe failed with "HOME: unbound variable" when HOME was unset.
        Run version = scythe(dir, "version");
        assertEquals(0, version.status(), version.err());
        assertTrue(version.text().startsWith("scythe 0."), version.text());
        // Regression: in a deleted working directory the JVM printed an initialization error.
        Path gone = Files.createDirectories(dir.resolve("gone"));
        Process p = new ProcessBuilder("sh", "-c", "cd \"$1\" && rmdir \"$1\" && exec \"$0\" run -- true",
                SCYTHE.toString(), gone.toString()).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(125, p.exitValue(), err);
        assertTrue(err.contains("scythe: the current directory no longer exists"), err);
    }
}
