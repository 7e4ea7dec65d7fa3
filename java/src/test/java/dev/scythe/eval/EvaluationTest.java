package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Supervisor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A slice of the corpus through the real provers that are installed; an absent prover is skipped, and said so. */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class EvaluationTest {

    @Test
    void verdictsAreReadAndWrongAnswersCaught() {
        assertEquals(Provers.Verdict.SAT, Provers.verdict("cnf", "c minisat\nSATISFIABLE\n"));
        assertEquals(Provers.Verdict.UNSAT, Provers.verdict("cnf", "s UNSATISFIABLE\n"));
        assertEquals(Provers.Verdict.UNKNOWN, Provers.verdict("cnf", "INDETERMINATE\n"));
        assertEquals(Provers.Verdict.UNSAT, Provers.verdict("smt2", "unsat\n"));
        assertEquals(Provers.Verdict.UNKNOWN, Provers.verdict("smt2", "unknown\n"));
        assertEquals(Provers.Verdict.THEOREM, Provers.verdict("tptp", "# SZS status Theorem\n"));
        assertEquals(Provers.Verdict.COUNTER_SATISFIABLE, Provers.verdict("tptp", "SPASS beiseite: Completion found.\n"));
        var p = new Provers.Problem(Path.of("x.cnf"), "cnf", Provers.Verdict.UNSAT);
        var lie = new Evaluation.Run("liar", p, Provers.Verdict.SAT, 0.1, false);
        assertTrue(lie.wrong() && !lie.solved(), "a wrong answer is never counted as solved");
    }

    @Test
    void aSliceOfTheCorpusThroughRealProvers(@TempDir Path out) throws Exception {
        List<Provers.Prover> installed = Provers.ALL.stream().filter(Provers.Prover::installed).toList();
        List<String> absent = Provers.ALL.stream().filter(p -> !p.installed()).map(Provers.Prover::name).toList();
        if (!absent.isEmpty()) {
            System.out.println("EvaluationTest: skipping absent provers " + absent);
        }
        Assumptions.assumeFalse(installed.isEmpty(), "no prover installed (apt-get install z3 minisat eprover ...)");
        Path corpus = Path.of("..", "corpus").toAbsolutePath().normalize();
        List<Provers.Problem> slice = Provers.load(corpus).stream()
                .filter(pr -> List.of("php-7-6.cnf", "planted3sat-150-0.cnf", "factor-prime-16.smt2",
                        "uf-holes-4-4.smt2", "chain-5-thm.p", "chain-5-csa.p").contains(pr.name())).toList();
        assertEquals(6, slice.size());
        Evaluation ev = new Evaluation(slice, installed, Duration.ofSeconds(10));
        try (Supervisor s = new Supervisor()) {
            ev.run(s, new PrintStream(new ByteArrayOutputStream()));
        }
        for (Evaluation.Run r : ev.runs()) {
            assertTrue(!r.wrong(), "wrong answer: " + r);
            assertTrue(r.solved(), "these easy problems are solved by every prover that takes them: " + r);
        }
        assertEquals(ev.score(Evaluation.VBS).solved(), ev.score(Evaluation.PORTFOLIO).solved());
        new Report(ev).write(out);
        assertTrue(Files.readString(out.resolve("report.html")).contains("virtual best"));
        assertTrue(Files.readString(out.resolve("cactus.svg")).startsWith("<svg"));
        assertTrue(Files.size(out.resolve("cactus.png")) > 1000);
        System.out.print(ev.table());
    }
}
