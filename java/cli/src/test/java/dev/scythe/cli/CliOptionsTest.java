package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.cli.MainTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An error in scythe's own options is exit status 125 with a message that names the option and what it accepts;
 * never the command's status (126, 127), never an exception's text. Every command has its own help.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CliOptionsTest extends LeakCheckedTest {
    private static Result cli(String... args) {
        return MainTest.cli(args);
    }

    /** Asserts status 125, that the message names {@code what}, and that no Java exception text leaked out. */
    private static void refused(Result r, String what) {
        assertEquals(125, r.status(), r.err());
        assertTrue(r.err().contains(what), "'" + what + "' in: " + r.err());
        for (String leak : new String[] {"Exception", "For input string", "java.", "internal error"}) {
            assertFalse(r.err().contains(leak), "no exception text: " + r.err());
        }
    }

    @Test
    void missingDirectoriesOfOptionsAreScythesError(@TempDir Path dir) {
        // Regression: a missing --progress/--heartbeat/--dossier directory exited 127, "command not found".
        String missing = dir.resolve("missing").toString();
        refused(cli("run", "--stall", "1s", "--progress", missing, "--", "true"), "--progress: no directory");
        refused(cli("run", "--stall", "1s", "--heartbeat", missing + "/beat", "--", "true"),
                "--heartbeat: no directory for");
        refused(cli("run", "--stall", "1s", "--heartbeat", dir.toString(), "--", "true"), "is a directory");
        refused(cli("run", "--timeout", "1s", "--dossier", missing, "--", "true"), "--dossier: no directory");
        refused(cli("race", "--dossier", missing, "--", "true"), "--dossier: no directory");
    }

    @Test
    void numbersAreCheckedAgainstTheirRange() {
        // Regression: 9999999999G overflowed to a negative limit; 20 digits printed "For input string".
        refused(cli("run", "--memory-limit", "9999999999G", "--", "true"), "--memory-limit: 9999999999G is out of "
                + "range; accepted: 0 (no limit) or 1 byte to 8388607T");
        refused(cli("run", "--memory-limit", "12x", "--", "true"), "--memory-limit: invalid size '12x'");
        refused(cli("run", "--process-limit", "99999999999999999999", "--", "true"),
                "--process-limit: 99999999999999999999 is out of range; accepted: 0 to 4194304");
        refused(cli("run", "--process-limit", "-3", "--", "true"), "--process-limit: '-3' is not a whole number");
        refused(cli("run", "--process-limit", "lots", "--", "true"), "--process-limit: 'lots' is not a whole number");
        refused(cli("race", "--jobs", "99999999999999999999", "--", "true"), "--jobs: 99999999999999999999 is out of "
                + "range");
        refused(cli("race", "--success-exit", "0,x", "--", "true"), "--success-exit: 'x' is not a whole number");
        refused(cli("deepen", "--max-depth", "3000000000", "--per-depth-timeout", "1s", "--progress", "/tmp", "--",
                "x", "{depth}"), "--max-depth: 3000000000 is out of range; accepted: 1 to 2147483647");
        refused(cli("deepen", "--max-depth", "10", "--min-depth", "20", "--per-depth-timeout", "1s", "--progress",
                "/tmp", "--", "x", "{depth}"), "--min-depth 20 is above --max-depth 10");
        // Regression: a large deepen window printed "internal error: java.lang.ArithmeticException".
        refused(cli("deepen", "--max-depth", "2147483647", "--per-depth-timeout", "1000d", "--progress", "/tmp",
                "--", "x", "{depth}"), "longer than 292 years");
        refused(cli("run", "--stall", "inf", "--progress", "/tmp", "--", "true"), "--stall: must be positive");
        refused(cli("run", "--grace", "inf", "--", "true"), "--grace: must be at most 292 years");
    }

    @Test
    void zeroMeansNoLimitForEveryLimit() {
        // Regression: --memory-limit 0 silently meant "none" while --process-limit 0 was refused.
        for (String[] opt : new String[][] {{"--timeout", "0"}, {"--memory-limit", "0"}, {"--process-limit", "0"},
            {"--cpu-limit", "0"}}) {
            Result r = cli("run", "--json", opt[0], opt[1], "--", "true");
            assertEquals(0, r.status(), opt[0] + ": " + r.err());
        }
    }

    @Test
    void optionsThatContradictEachOtherAreNamed() {
        refused(cli("run", "--containment", "session", "--memory-limit", "1G", "--", "true"),
                "--memory-limit needs the cgroup level");
        refused(cli("run", "--containment", "pod", "--", "true"), "--containment: must be session, cgroup or best");
        refused(cli("run", "--base64", "--", "true"), "--base64 needs --json");
        refused(cli("run", "--json=yes", "--", "true"), "--json takes no value");
        refused(cli("run", "--timeout"), "--timeout needs a value");
        refused(cli("race", "--bogus", "--", "true"), "unknown option '--bogus' for race");
        refused(cli("evaluate", "--provers", "nosuch"), "--provers: unknown prover 'nosuch'");
        refused(cli("evaluate", "--timeout", "0"), "--timeout: must be positive");
        refused(cli("version", "extra"), "version takes no arguments");
    }

    @Test
    void valuesMayFollowAnEqualsSign(@TempDir Path dir) throws Exception {
        assertEquals(124, cli("run", "--timeout=100ms", "--", "sleep", "30").status());
        Files.createDirectories(dir.resolve("p"));
        Result r = cli("run", "--stall=200ms", "--progress=" + dir.resolve("p"), "--", "sleep", "30");
        assertEquals(124, r.status(), r.err());
    }

    @Test
    void everyCommandHasItsOwnHelpWithItsRealDefaultsAndStatuses() {
        for (String command : new String[] {"run", "race", "deepen", "evaluate", "version"}) {
            Result viaFlag = cli(command, "--help");
            assertEquals(0, viaFlag.status(), command);
            assertTrue(viaFlag.out().startsWith("Usage: scythe " + command), viaFlag.out());
            assertEquals(viaFlag.out(), cli("help", command).out(), "help " + command + " is " + command + " --help");
            assertEquals(viaFlag.out(), cli(command, "-h").out());
        }
        String run = cli("run", "--help").out();
        assertTrue(run.contains("best (default)"), "the containment default is best: " + run);
        assertFalse(run.contains("session (default)"), run);
        for (String status : new String[] {"124", "122", "125", "126", "127", "128+N", "130, 143, 129"}) {
            assertTrue(run.contains(status), status + " in run's help");
        }
        assertTrue(cli("race", "--help").out().contains("--containment"), "race takes the job options");
        assertTrue(cli("race", "--help").out().contains("--memory-limit"));
        assertTrue(cli("deepen", "--help").out().contains("--progress"));
        assertTrue(cli("--help").out().contains("Commands:"));
        assertEquals(125, cli().status(), "no command at all is a usage error");
    }

    @Test
    void evaluateRefusesBadChoicesNamingThem(@TempDir Path dir) throws Exception {
        Path problems = Files.createDirectories(dir.resolve("p"));
        Files.writeString(problems.resolve("a.cnf"), "p cnf 1 1\n1 0\n");
        String out = dir.resolve("out").toString(), p = problems.toString();
        refused(cli("evaluate", p, "--out", out, "--portfolio", "fastest"), "--portfolio: unknown portfolio "
                + "'fastest' (known: cores, race, sequential, learned)");
        refused(cli("evaluate", p, "--out", out, "--cross-validate", "thirds"), "--cross-validate: expected halves or "
                + "leave-one-out, got 'thirds'");
        refused(cli("evaluate", p, "--out", out, "--cores", "0"), "--cores must be at least 1, got 0");
        refused(cli("evaluate", p, "--out", out, "--resume"), "--resume: no " + dir.resolve("out/results.db")
                + " to resume");
        refused(cli("evaluate", p, "--out", out, "--schedule", dir.resolve("none.tsv").toString()),
                "--schedule: no file " + dir.resolve("none.tsv"));
        refused(cli("evaluate", dir.resolve("nowhere").toString()), "no directory");
        refused(cli("evaluate", p, "--corpus", dir.toString()), "give the problems once: DIR or --corpus, not both");
        Path bad = Files.writeString(dir.resolve("bad.conf"), "[x]\nfamily = cnf\n");
        refused(cli("evaluate", p, "--out", out, "--prover-file", bad.toString()), bad + ":1: prover 'x': no command");
    }
}
