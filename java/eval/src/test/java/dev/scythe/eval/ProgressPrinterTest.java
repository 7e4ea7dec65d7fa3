package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.eval.Provers.Verdict;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Progress: a bar redrawn in place on a terminal, plain lines elsewhere; both with the time elapsed and left. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProgressPrinterTest {
    private static final Provers.Problem P = new Provers.Problem(Path.of("a.cnf"), "cnf", Verdict.SAT);

    private static String drive(boolean terminal) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressPrinter p = new ProgressPrinter(new PrintStream(bytes, true, StandardCharsets.UTF_8), terminal);
        p.starting(0, 2, "minisat on a.cnf");
        p.finished(new Evaluation.Run("minisat", P, Verdict.SAT, 0.25, false, false));
        p.starting(1, 2, "cadical on a.cnf");
        p.finished(new Evaluation.Run("cadical", P, Verdict.UNKNOWN, 5, true, false));
        p.starting(2, 2, "done");
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void onATerminalOneBarIsRedrawnInPlace() {
        String out = drive(true);
        assertEquals(3, out.chars().filter(c -> c == '\r').count(), out);
        assertEquals(1, out.chars().filter(c -> c == '\n').count(), "one line break, at the end: " + out);
        assertTrue(out.contains("[###############               ] 1/2 0:00 elapsed, about 0:00 left"), out);
        assertTrue(out.contains("[##############################] 2/2"), out);
    }

    @Test
    void elsewhereOneLinePerAttempt() {
        String[] lines = drive(false).split("\n");
        assertEquals(3, lines.length, String.join("\n", lines));
        assertTrue(lines[0].matches("\\[1/2\\] minisat on a\\.cnf: sat in 0\\.25 s \\(0:00 elapsed\\)"), lines[0]);
        assertTrue(lines[1].matches("\\[2/2\\] cadical on a\\.cnf: timed out in 5\\.00 s \\(0:00 elapsed, about 0:00 "
                + "left\\)"), lines[1]);
        assertTrue(lines[2].matches("\\[2/2\\] done, 0:00"), lines[2]);
        assertTrue(!drive(false).contains("\r"));
    }

    @Test
    void clockReadsMinutesAndHours() {
        assertEquals("0:05", ProgressPrinter.clock(4.6));
        assertEquals("2:10", ProgressPrinter.clock(130));
        assertEquals("1:02:03", ProgressPrinter.clock(3723));
    }
}
