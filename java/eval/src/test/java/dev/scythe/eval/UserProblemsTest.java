package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.Supervisor;
import dev.scythe.eval.Certificates.Check;
import dev.scythe.eval.Provers.Verdict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job on a user's own directory, through real provers: no index, statuses stated by some files only,
 * answers cross-checked and models checked, a lying prover caught, results in the database and a resumed run.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class UserProblemsTest {
    /** A directory of problems as a user has them: subdirectories, no index, a status stated in some files only. */
    static Path problems(Path dir) throws Exception {
        write(dir.resolve("sat/planted.cnf"), Problems.planted(40, 160, 7));
        write(dir.resolve("unsat/php-5-4.cnf"), Problems.pigeons(5, 4));
        write(dir.resolve("smt/sat-stated.smt2"), """
                (set-info :status sat)
                (set-logic QF_LIA)
                (declare-const x Int)
                (declare-const y Int)
                (assert (and (> x 3) (< y 10) (= (+ x y) 12)))
                (check-sat)
                """);
        write(dir.resolve("smt/unsat.smt2"), """
                (set-logic QF_LIA)
                (declare-const x Int)
                (assert (and (> x 3) (< x 4)))
                (check-sat)
                """);
        write(dir.resolve("smt/sat-bv.smt2"), """
                (set-logic QF_BV)
                (declare-fun a () (_ BitVec 16))
                (assert (= (bvmul a #x0003) #x0015))
                (check-sat)
                """);
        write(dir.resolve("fol/theorem.p"), """
                % Status   : Theorem
                fof(a, axiom, p(a)).
                fof(step, axiom, ![X]: (p(X) => q(X))).
                fof(goal, conjecture, q(a)).
                """);
        write(dir.resolve("fol/countersat.p"), """
                fof(a, axiom, p(a)).
                fof(goal, conjecture, p(b)).
                """);
        write(dir.resolve("README.txt"), "my problems\n");
        return dir;
    }

    static void write(Path file, String text) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    static List<Provers.Prover> installed(String... names) {
        return Problems.installed(names);
    }

    static Evaluation run(List<Provers.Problem> problems, List<Provers.Prover> provers, Evaluation.Settings settings,
            Path db, Evaluation.Listener listener) throws Exception {
        Evaluation ev = new Evaluation(problems, provers, settings);
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor s = new Supervisor(); ResultsDatabase rdb = ResultsDatabase.open(db)) {
            ev.run(s, rdb, listener);
        }
        Leaks.assertNoneSince(before);
        assertTrue(!Files.exists(db.resolveSibling(Evaluation.SCRATCH)), "the run removed its scratch directory");
        try (ResultsDatabase rdb = ResultsDatabase.open(db)) {
            return Evaluation.fromDatabase(rdb);
        }
    }

    static final Evaluation.Listener QUIET = (done, total, what) -> { };

    @Test
    void aDirectoryWithNoIndexIsJudgedByStatusLinesModelsAndAgreement(@TempDir Path tmp) throws Exception {
        List<Provers.Prover> provers = installed("minisat", "cadical", "z3", "cvc5", "eprover");
        Corpus.Scan scan = Corpus.scanDetailed(problems(tmp.resolve("mine")));
        assertEquals(7, scan.problems().size(), scan.toString());
        assertEquals(List.of("fol/theorem.p", "smt/sat-stated.smt2"), scan.problems().stream()
                .filter(p -> p.status() != Verdict.UNKNOWN).map(Provers.Problem::id).toList());
        Evaluation ev = run(scan.problems(), provers, new Evaluation.Settings(Duration.ofSeconds(20), 2,
                List.of(Evaluation.Policy.CORES), null), tmp.resolve("results.db"), QUIET);
        for (Evaluation.Run r : ev.runs()) {
            assertTrue(!r.wrong() && !r.conflicting(), r.toString());
        }
        assertEquals(7, ev.score(Evaluation.VBS).solved(), ev.table());
        assertEquals(7, ev.score(Evaluation.PORTFOLIO).solved(), ev.table());
        Map<String, Verdict> truth = ev.runs().stream().collect(Collectors.toMap(r -> r.problem().id(),
                Evaluation.Run::truth, (a, b) -> a));
        assertEquals(Map.of("sat/planted.cnf", Verdict.SAT, "unsat/php-5-4.cnf", Verdict.UNSAT, "smt/sat-stated.smt2",
                Verdict.SAT, "smt/unsat.smt2", Verdict.UNSAT, "smt/sat-bv.smt2", Verdict.SAT, "fol/theorem.p",
                Verdict.THEOREM, "fol/countersat.p", Verdict.COUNTER_SATISFIABLE), truth);
        // every sat answer of a prover alone came with a model, and the model held
        for (Evaluation.Run r : ev.runs()) {
            if (ev.isProver(r.solver()) && r.verdict() == Verdict.SAT) {
                assertEquals(Check.Kind.CONFIRMED, r.certificate(), r.toString());
            }
        }
    }

    /** A script that answers sat to everything, with no model, or with a made-up one. */
    static Provers.Prover liar(Path bin, String name, String answer) throws Exception {
        Path script = Files.createDirectories(bin).resolve(name);
        Files.writeString(script, "#!/bin/sh\necho '" + answer + "'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return Provers.parse("[" + name + "]\nfamily = cnf\ncommand = " + script + " {file}\n", "test").get(0);
    }

    @Test
    void aLyingProverIsCaughtAsWrongOrConflicting(@TempDir Path tmp) throws Exception {
        List<Provers.Prover> provers = new ArrayList<>(installed("minisat"));
        provers.add(liar(tmp.resolve("bin"), "liar", "s SATISFIABLE"));
        provers.add(liar(tmp.resolve("bin"), "modeller", "s SATISFIABLE\nv 1 2 3 4 5 6 7 8 9 10 0"));
        Path dir = tmp.resolve("problems");
        write(dir.resolve("stated/php.cnf"), Problems.pigeons(5, 4));
        write(dir.resolve("unknown/php.cnf"), Problems.pigeons(5, 4));
        write(dir.resolve("index.tsv"), "stated/php.cnf\tcnf\tunsat\n");
        List<Provers.Problem> problems = Corpus.scan(dir);
        Evaluation ev = run(problems, provers, new Evaluation.Settings(Duration.ofSeconds(20), 2,
                List.of(Evaluation.Policy.CORES), null), tmp.resolve("results.db"), QUIET);
        // a stated status: both liars are wrong; the honest prover is right
        // no stated status: the made-up model does not hold, so that liar is wrong and minisat's unsat stands...
        // ...but the liar without a model contradicts minisat with nothing to settle it: a conflict, solved by nobody
        assertEquals(List.of(2, 0), List.of(ev.score("modeller").wrong(), ev.score("modeller").solved()), ev.table());
        assertEquals(List.of(1, 1, 0), List.of(ev.score("liar").wrong(), ev.score("liar").conflicts(),
                ev.score("liar").solved()), ev.table());
        assertEquals(List.of(1, 1, 0), List.of(ev.score("minisat").solved(), ev.score("minisat").conflicts(),
                ev.score("minisat").wrong()), ev.table());
        List<Evaluation.Conflict> conflicts = ev.conflicts();
        assertEquals(1, conflicts.size(), conflicts.toString());
        assertEquals("unknown/php.cnf", conflicts.get(0).problem().id());
        assertTrue(conflicts.get(0).answers().get(Verdict.SAT).contains("liar"), conflicts.toString());
        // (the portfolio is on whichever side its first answer was: a race of minisat and the liars)
        assertTrue(conflicts.get(0).answers().get(Verdict.UNSAT).contains("minisat"), conflicts.toString());
        String html = new Report(ev).html("<svg/>");
        assertTrue(html.contains("<h2>Conflicts</h2>") && html.contains("<h2>Wrong answers</h2>"), html);
    }

    @Test
    void aResumedRunRunsOnlyWhatTheDatabaseLacks(@TempDir Path tmp) throws Exception {
        List<Provers.Prover> provers = installed("minisat", "cadical");
        Path dir = tmp.resolve("problems");
        write(dir.resolve("a.cnf"), Problems.planted(30, 120, 1));
        write(dir.resolve("b.cnf"), Problems.pigeons(4, 3));
        List<Provers.Problem> problems = Corpus.scan(dir);
        Evaluation.Settings settings = new Evaluation.Settings(Duration.ofSeconds(20), 2,
                List.of(Evaluation.Policy.CORES, Evaluation.Policy.SEQUENTIAL), null);
        Path db = tmp.resolve("results.db");
        AtomicInteger first = new AtomicInteger();
        Evaluation ev = run(problems, provers, settings, db, (done, total, what) -> first.set(total));
        assertEquals(2 * 2 + 2 * 2, first.get());
        // as a kill would leave it: one attempt begun and never finished
        try (ResultsDatabase rdb = ResultsDatabase.open(db)) {
            rdb.begin("b.cnf", "cadical", "v", "cadical b.cnf"); // attempt 2, "running"
            assertEquals(1, rdb.markInterrupted());
        }
        List<String> started = new ArrayList<>();
        Evaluation again = run(problems, provers, settings, db, new Evaluation.Listener() {
            @Override
            public void starting(int done, int total, String what) {
                if (done < total) {
                    started.add(what);
                }
            }
        });
        assertEquals(List.of(), started, "everything was finished: nothing runs again");
        assertEquals(ev.table().lines().map(l -> l.replaceAll("\\s+\\S+$", "")).toList(),
                again.table().lines().map(l -> l.replaceAll("\\s+\\S+$", "")).toList());
        try (ResultsDatabase rdb = ResultsDatabase.open(db)) {
            List<ResultsDatabase.Row> rows = rdb.rows();
            assertEquals(9, rows.size());
            assertEquals(1, rows.stream().filter(r -> r.outcome().equals(ResultsDatabase.INTERRUPTED)).count());
        }
    }

    @Test
    void everyPortfolioAndTheLearnedScheduleCrossValidated(@TempDir Path tmp) throws Exception {
        List<Provers.Prover> provers = installed("minisat", "cadical", "picosat", "z3", "cvc5");
        List<Provers.Problem> problems = Corpus.scan(problems(tmp.resolve("mine"))).stream()
                .filter(p -> !p.family().equals("tptp")).toList();
        Evaluation ev = new Evaluation(problems, provers, new Evaluation.Settings(Duration.ofSeconds(20), 2,
                List.of(Evaluation.Policy.CORES, Evaluation.Policy.RACE_ALL, Evaluation.Policy.SEQUENTIAL,
                        Evaluation.Policy.LEARNED), null));
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor s = new Supervisor(); ResultsDatabase rdb = ResultsDatabase.open(tmp.resolve("r.db"))) {
            ev.run(s, rdb, QUIET);
        }
        Leaks.assertNoneSince(before);
        for (String portfolio : List.of(Evaluation.PORTFOLIO, Evaluation.RACE, Evaluation.SEQUENTIAL,
                Evaluation.LEARNED)) {
            assertEquals(problems.size(), ev.score(portfolio).solved(), ev.table());
        }
        assertEquals(2, ev.schedulesUsed().size(), ev.schedulesUsed().toString());
        Path csv = tmp.resolve("results.csv"), jsonl = tmp.resolve("results.jsonl");
        Exports.csv(ev, csv);
        Exports.jsonLines(ev, jsonl);
        assertEquals(ev.runs().size() + 1, Files.readAllLines(csv).size());
        assertTrue(Files.readAllLines(csv).get(0).startsWith("problem,family,status,solver,answer"));
        assertEquals(ev.runs().size(), Files.readAllLines(jsonl).size());
        assertTrue(Files.readAllLines(jsonl).stream().allMatch(l -> l.startsWith("{\"problem\":") && l.endsWith("}")));
    }

    @Test
    void leaveOneOutRunsEachProblemWithTheScheduleLearnedWithoutIt(@TempDir Path tmp) throws Exception {
        List<Provers.Prover> provers = installed("minisat", "cadical", "z3", "cvc5");
        List<Provers.Problem> problems = Corpus.scan(problems(tmp.resolve("mine"))).stream()
                .filter(p -> !p.family().equals("tptp")).toList();
        Evaluation ev = run(problems, provers, new Evaluation.Settings(Duration.ofSeconds(20), 2,
                List.of(Evaluation.Policy.LEARNED), null, Evaluation.CrossValidation.LEAVE_ONE_OUT),
                tmp.resolve("r.db"), QUIET);
        assertEquals(problems.size(), ev.score(Evaluation.LEARNED).solved(), ev.table());
        try (ResultsDatabase db = ResultsDatabase.open(tmp.resolve("r.db"))) {
            assertEquals("leave_one_out", db.meta("cross_validation").orElseThrow());
        }
    }
}
