package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.cli.MainTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The command line as picocli reads it, held to Scythe's rules (docs/cli.md). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ParsingTest extends LeakCheckedTest {
    private static final List<String> COMMANDS = List.of("run", "race", "deepen", "evaluate", "version");

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
