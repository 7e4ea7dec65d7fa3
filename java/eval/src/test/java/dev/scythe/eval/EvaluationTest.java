package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.Supervisor;
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
        var lie = new Evaluation.Run("liar", p, Provers.Verdict.SAT, 0.1, false, false);
        assertTrue(lie.wrong() && !lie.solved(), "a wrong answer is never counted as solved");
    }

    /**
     * A prover that aborts is counted as crashed, never as solved or timed out, and in the portfolio the real prover
     * beside it still wins.
     */
    @Test
    void aCrashingProverIsCountedAsCrashedAndThePortfolioRacesOn(@TempDir Path dir) throws Exception {
        Provers.Prover minisat = Provers.ALL.stream().filter(p -> p.name().equals("minisat")).findFirst().orElseThrow();
        Assumptions.assumeTrue(minisat.installed(), "minisat is not installed (apt-get install minisat)");
        Provers.Prover aborts = new Provers.Prover("aborts", "cnf", List.of("sh", "-c", "kill -ABRT $$", "{file}"),
                "none", null);
        Path cnf = Files.writeString(dir.resolve("tiny.cnf"), "p cnf 2 2\n1 2 0\n-1 0\n");
        var problem = new Provers.Problem(cnf, "cnf", Provers.Verdict.SAT);
        Evaluation ev = new Evaluation(List.of(problem), List.of(aborts, minisat), Duration.ofSeconds(10));
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor s = new Supervisor(); ResultsDatabase db = ResultsDatabase.open(dir.resolve("r.db"))) {
            ev.run(s, db, UserProblemsTest.QUIET);
        }
        Leaks.assertNoneSince(before);
        Evaluation.Score crashed = ev.score("aborts"), portfolio = ev.score(Evaluation.PORTFOLIO);
        assertEquals(List.of(1, 0, 0), List.of(crashed.crashed(), crashed.solved(), crashed.timeouts()), crashed.toString());
        assertEquals(List.of(0, 1), List.of(ev.score("minisat").crashed(), ev.score("minisat").solved()));
        assertEquals(1, portfolio.solved(), portfolio.toString());
        assertTrue(ev.table().contains("crashed"), ev.table());
        new Report(ev).write(dir.resolve("report"));
        assertTrue(Files.readString(dir.resolve("report/report.html")).contains("<h2>Crashes</h2>"));
    }

    @Test
    void aSliceOfTheCorpusThroughRealProvers(@TempDir Path out) throws Exception {
        List<Provers.Prover> installed = Provers.ALL.stream().filter(Provers.Prover::installed).toList();
        List<String> absent = Provers.ALL.stream().filter(p -> !p.installed()).map(Provers.Prover::name).toList();
        if (!absent.isEmpty()) {
            System.out.println("EvaluationTest: skipping absent provers " + absent);
        }
        Assumptions.assumeFalse(installed.isEmpty(), "no prover installed (apt-get install z3 minisat eprover ...)");
        Path corpus = dev.scythe.Checkout.resolve("corpus");
        List<Provers.Problem> slice = Corpus.scan(corpus).stream()
                .filter(pr -> List.of("php-7-6.cnf", "planted3sat-150-0.cnf", "factor-prime-16.smt2",
                        "uf-holes-4-4.smt2", "chain-5-thm.p", "chain-5-csa.p").contains(pr.file().getFileName().toString())).toList();
        assertEquals(6, slice.size());
        Evaluation ev = new Evaluation(slice, installed, Duration.ofSeconds(10));
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor s = new Supervisor(); ResultsDatabase db = ResultsDatabase.open(out.resolve("r.db"))) {
            ev.run(s, db, UserProblemsTest.QUIET);
        }
        Leaks.assertNoneSince(before);
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
