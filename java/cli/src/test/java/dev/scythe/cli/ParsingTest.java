package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scythe.cli.MainTest.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The command line as picocli reads it, held to Scythe's rules (docs/cli.md); and the completion it generates. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ParsingTest extends LeakCheckedTest {
    private static final List<String> COMMANDS = List.of("run", "race", "deepen", "evaluate", "version");

    @Test
    void completionIsABashScriptForEveryCommand() {
        Result r = MainTest.cli("completion");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("#!/usr/bin/env bash"), r.out());
        for (String command : COMMANDS) {
            assertTrue(r.out().contains(command), command + " in the script");
        }
        assertTrue(r.out().contains("--containment") && r.out().contains("--per-depth-timeout"), "options too");
        assertEquals(r.out(), MainTest.cli("completion").out(), "the same script every time");
    }

    @Test
    void bashCompletesCommandsAndChoicesWithTheScript(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash");
        Path script = Files.writeString(dir.resolve("scythe.bash"), MainTest.cli("completion").out());
        String complete = "source \"$0\"; ask() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); "
                + "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _complete_scythe 2>/dev/null; "
                + "echo \"${COMPREPLY[*]}\"; }; ask scythe r; ask scythe run --cont; "
                + "ask scythe run --containment ''; ask scythe race --mode ''; "
                + "ask scythe run --progress \"$1/proo\"";
        Path proofs = Files.createDirectories(dir.resolve("proofs"));
        Process p = new ProcessBuilder("/bin/bash", "-c", complete, script.toString(), dir.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("run race\n--containment\nsession cgroup best\nfirst best seq\n" + proofs + "\n", out);
    }

    @Test
    void everyCommandsHelpIsGeneratedWithItsSections() {
        for (String command : COMMANDS) {
            String help = MainTest.cli(command, "--help").out();
            assertTrue(help.contains("\nOptions:\n") && help.contains("\n  -h, --help "), command + ": " + help);
            assertTrue(help.contains("\nExit status"), command + ": " + help);
            assertTrue(command.equals("version") || help.contains("\nDurations: a number"), command + ": " + help);
        }
        String race = MainTest.cli("race", "--help").out();
        assertTrue(race.contains("\nEach job:\n") && race.contains("first (default)"), race);
        String deepen = MainTest.cli("deepen", "--help").out();
        assertTrue(deepen.contains("\nProgress probes (at least one):\n") && !deepen.contains("--stall"), deepen);
        assertTrue(MainTest.cli("completion", "--help").out().startsWith("Usage: scythe completion"));
    }

    @Test
    void argumentsAreNotReadFromFilesAndAValueGivenTwiceTakesTheLast(@TempDir Path dir) throws Exception {
        // picocli expands @FILE by default; here it is an argument like any other, even before the command.
        Path file = Files.writeString(dir.resolve("args"), "--bogus\n");
        Result r = MainTest.cli("run", "--json", "--", "echo", "@" + file);
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("\"text\":\"@" + file + "\\n\""), r.out());
        assertEquals(127, MainTest.cli("run", "@" + file).status(), "@FILE is the command, not options from it");
        assertEquals(0, MainTest.cli("run", "--timeout", "100ms", "--timeout", "0", "--", "sleep", "0.3").status());
        assertEquals(0, MainTest.cli("race", "--success-exit", "3", "--success-exit", "0", "--", "true").status());
        assertEquals(0, MainTest.cli("run", "--grace", "1s", "--grace=2s", "--", "true").status(), "in a group too");
    }

    @Test
    void anOptionalValueIsNeverAnOption() {
        // --progress-output [REGEX] takes the next argument unless it starts with "--": a misspelt option is named.
        Result r = MainTest.cli("run", "--stall", "1s", "--progress-output", "--stal", "1s", "--", "true");
        assertEquals(125, r.status());
        assertTrue(r.err().contains("unknown option '--stal' for run"), r.err());
        Result any = MainTest.cli("run", "--stall", "5s", "--progress-output", "--", "sh", "-c", "echo out");
        assertEquals(0, any.status(), any.err());
        assertEquals("out\n", any.out());
    }

    @Test
    void picocliStatusesAreScythes() {
        // picocli exits 2 on a usage error and 1 on an exception; scythe's status for both is 125.
        for (String[] args : new String[][] {{"run", "--json=true", "--", "true"}, {"help", "nosuch"},
            {"--nosuch"}, {"run", "--timeout"}, {"race", "--mode"}, {"deepen", "--max-depth", "x"}}) {
            Result r = MainTest.cli(args);
            assertEquals(125, r.status(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().startsWith("scythe") && r.err().contains("Try 'scythe "), r.err());
            assertEquals("", r.out());
        }
        assertEquals(0, MainTest.cli("--version").status());
    }
}
