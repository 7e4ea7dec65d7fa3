package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.scythe.eval.Certificates.Check;
import dev.scythe.eval.Certificates.Check.Kind;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Certificates checked against the models real solvers print; a solver that is not on PATH is skipped, and said so.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CertificatesTest {

    // ------------------------------------------------------------------------------------------------ helpers

    private record Ran(int exit, String stdout) {}

    /** Runs a command to completion (killed, and the test failed, after 30 s), stdout kept, stderr discarded. */
    private static Ran run(Path dir, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "stdout", ".txt");
        // stdout to a file, not a pipe: a solver printing a big model must never block on a reader that is not there
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).redirectInput(ProcessBuilder.Redirect.from(
                        new File("/dev/null"))).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                fail(String.join(" ", command) + " did not finish within 30 s");
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
                assertTrue(p.waitFor(10, TimeUnit.SECONDS), String.join(" ", command) + " outlived SIGKILL");
            }
        }
        return new Ran(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1));
    }

    private static void assumeOnPath(String program) {
        Assumptions.assumeTrue(Provers.onPath(program), program + " is not on PATH; its part of this test is skipped");
    }

    private static void assertKind(Kind expected, Check c) {
        assertEquals(expected, c.kind(), c.detail());
    }

    // ------------------------------------------------------------------------------------------------ DIMACS

    /** A random 3-SAT problem with a planted solution, so it is satisfiable whatever the seed. */
    private static List<int[]> planted(int vars, int clauses, long seed) {
        Random r = new Random(seed);
        boolean[] solution = new boolean[vars + 1];
        for (int v = 1; v <= vars; v++) {
            solution[v] = r.nextBoolean();
        }
        List<int[]> out = new ArrayList<>();
        while (out.size() < clauses) {
            int[] c = r.ints(1, vars + 1).distinct().limit(3).map(v -> r.nextBoolean() ? v : -v).toArray();
            if (Arrays.stream(c).anyMatch(l -> solution[Math.abs(l)] == l > 0)) {
                out.add(c);
            }
        }
        return out;
    }

    private static Path writeCnf(Path dir, String name, int vars, List<int[]> clauses) throws IOException {
        StringBuilder sb = new StringBuilder("c planted 3-SAT\np cnf " + vars + " " + clauses.size() + "\n");
        for (int[] c : clauses) {
            sb.append(Arrays.stream(c).mapToObj(Integer::toString).collect(Collectors.joining(" "))).append(" 0\n");
        }
        return Files.writeString(dir.resolve(name), sb);
    }

    private static final int VARS = 60;
    private static final List<int[]> CLAUSES = planted(VARS, 240, 17);

    /** The command line that makes each SAT solver print its model as v lines. */
    private static String[] satCommand(String solver, Path cnf) {
        return switch (solver) {
            case "cadical" -> new String[] {"cadical", "-q", cnf.toString()};
            case "cryptominisat5" -> new String[] {"cryptominisat5", "--verb", "0", cnf.toString()};
            default -> new String[] {solver, cnf.toString()};
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"cadical", "picosat", "cryptominisat5"})
    void vLineModelsOfRealSolversAreConfirmed(String solver, @TempDir Path dir) throws Exception {
        assumeOnPath(solver);
        Path cnf = writeCnf(dir, "planted.cnf", VARS, CLAUSES);
        Ran r = run(dir, satCommand(solver, cnf));
        assertEquals(10, r.exit(), solver + " should answer SATISFIABLE (exit 10):\n" + r.stdout());
        assertTrue(r.stdout().lines().filter(l -> l.startsWith("v ")).count() > 1,
                "the test wants a model spread over several v lines:\n" + r.stdout());
        Check c = Certificates.dimacs(cnf, r.stdout(), null);
        assertKind(Kind.CONFIRMED, c);
        assertTrue(c.detail().contains("240 clauses"), c.detail());
    }

    @Test
    void minisatModelFileIsConfirmedAndItsUnsatIsNoModel(@TempDir Path dir) throws Exception {
        assumeOnPath("minisat");
        Path cnf = writeCnf(dir, "planted.cnf", VARS, CLAUSES);
        Path model = dir.resolve("model.out");
        Ran r = run(dir, "minisat", "-verb=0", cnf.toString(), model.toString());
        assertEquals(10, r.exit(), "minisat should answer SATISFIABLE (exit 10):\n" + r.stdout());
        assertTrue(Files.readString(model).startsWith("SAT\n"), Files.readString(model));
        assertKind(Kind.CONFIRMED, Certificates.dimacs(cnf, r.stdout(), model));

        Path unsat = Files.writeString(dir.resolve("unsat.cnf"), "p cnf 1 2\n1 0\n-1 0\n");
        Path unsatModel = dir.resolve("unsat.out");
        Ran u = run(dir, "minisat", "-verb=0", unsat.toString(), unsatModel.toString());
        assertEquals(20, u.exit(), "minisat should answer UNSATISFIABLE (exit 20)");
        Check c = Certificates.dimacs(unsat, u.stdout(), unsatModel);
        assertKind(Kind.ABSENT, c);
        assertTrue(c.detail().contains("UNSAT"), c.detail());
    }

    /** A real model with the first clause's literals all made false: that clause, and no earlier one, is named. */
    @Test
    void aCorruptedModelIsRefutedNamingTheFalseClause(@TempDir Path dir) throws Exception {
        String solver = Provers.onPath("cadical") ? "cadical" : "picosat";
        assumeOnPath(solver);
        Path cnf = writeCnf(dir, "planted.cnf", VARS, CLAUSES);
        Ran r = run(dir, satCommand(solver, cnf));
        assertEquals(10, r.exit(), r.stdout());
        Map<Integer, Integer> model = new HashMap<>();
        for (String l : r.stdout().lines().filter(l -> l.startsWith("v ")).toList()) {
            for (String t : l.substring(2).trim().split("\\s+")) {
                int lit = Integer.parseInt(t);
                if (lit != 0) {
                    model.put(Math.abs(lit), lit);
                }
            }
        }
        int[] victim = CLAUSES.get(0);
        for (int lit : victim) {
            model.put(Math.abs(lit), -lit);
        }
        String corrupted = "s SATISFIABLE\nv " + model.values().stream().map(String::valueOf)
                .collect(Collectors.joining(" ")) + " 0\n";
        Check c = Certificates.dimacs(cnf, corrupted, null);
        assertKind(Kind.REFUTED, c);
        String clause = Arrays.stream(victim).mapToObj(Integer::toString).collect(Collectors.joining(" "));
        assertTrue(c.detail().startsWith("clause 1 (" + clause + ") is false under the model"), c.detail());
    }

    @Test
    void aClauseFalseUnderAHandModelIsNamedByItsNumberNotItsLine(@TempDir Path dir) throws Exception {
        Path cnf = Files.writeString(dir.resolve("small.cnf"), "c two clauses on one line\np cnf 3 3\n1 2 0 -1 2 0\n"
                + "-2 3 0\n");
        Check c = Certificates.dimacs(cnf, "v 1 -2 3 0\n", null);
        assertKind(Kind.REFUTED, c);
        assertEquals("clause 2 (-1 2) is false under the model (small.cnf line 3)", c.detail());
        assertKind(Kind.CONFIRMED, Certificates.dimacs(cnf, "v 1 2 3 0\n", null));
    }

    @Test
    void outputWithoutAModelHasNoCertificate(@TempDir Path dir) throws Exception {
        Path cnf = writeCnf(dir, "planted.cnf", VARS, CLAUSES);
        assertKind(Kind.ABSENT, Certificates.dimacs(cnf, "s SATISFIABLE\n", null));
        assertKind(Kind.ABSENT, Certificates.dimacs(cnf, "SATISFIABLE\n", dir.resolve("never-written.out")));
        assertKind(Kind.ABSENT, Certificates.dimacs(cnf, "", Files.writeString(dir.resolve("indet.out"), "INDET\n")));
        assertKind(Kind.ABSENT, Certificates.dimacs(cnf, "", Files.writeString(dir.resolve("empty.out"), "")));
        Check garbled = Certificates.dimacs(cnf, "v 1 two 3 0\n", null);
        assertKind(Kind.ABSENT, garbled);
        assertTrue(garbled.detail().contains("'two' is not a literal"), garbled.detail());
    }

    @Test
    void aModelAssigningAVariableBothWaysIsRefuted(@TempDir Path dir) throws Exception {
        Path cnf = Files.writeString(dir.resolve("t.cnf"), "p cnf 3 1\n1 2 3 0\n");
        Check c = Certificates.dimacs(cnf, "v 1 2 3\nv -2 0\n", null);
        assertKind(Kind.REFUTED, c);
        assertTrue(c.detail().contains("variable 2 both true and false"), c.detail());
    }

    /** SATLIB style: comments, a clause over three lines, tabs, CRLF, and the "%" / "0" trailer. */
    @Test
    void multiLineClausesCommentsAndTheSatlibTrailerParse(@TempDir Path dir) throws Exception {
        Path cnf = Files.writeString(dir.resolve("satlib.cnf"), """
                c SATLIB-like file
                c with comments
                p cnf 5 4
                 1 -2
                \t3
                 0
                -1 2 0\r
                c a comment between clauses
                -3 -4 0 4 5 0
                %
                0
                """);
        assertKind(Kind.CONFIRMED, Certificates.dimacs(cnf, "v -1 -2 -3 4 0\n", null));
        Check c = Certificates.dimacs(cnf, "v 1 -2 -3 4 5 0\n", null);
        assertKind(Kind.REFUTED, c);
        assertTrue(c.detail().startsWith("clause 2 (-1 2) is false"), c.detail());
    }

    /** A variable the model leaves out is neither true nor false. */
    @Test
    void aPartialModelSatisfiesOnlyClausesWithATrueLiteral(@TempDir Path dir) throws Exception {
        Path cnf = Files.writeString(dir.resolve("p.cnf"), "p cnf 4 2\n1 4 0\n-2 3 4 0\n");
        assertKind(Kind.CONFIRMED, Certificates.dimacs(cnf, "v 1 -2 0\n", null));
        Check c = Certificates.dimacs(cnf, "v 1 2 -3 0\n", null);
        assertKind(Kind.REFUTED, c);
        assertTrue(c.detail().startsWith("clause 2 (-2 3 4) has no true literal under the model, which leaves"
                + " variable 4 unassigned"), c.detail());
    }

    @Test
    void aGzippedCnfIsStreamed(@TempDir Path dir) throws Exception {
        Path gz = dir.resolve("planted.cnf.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(Files.readAllBytes(writeCnf(dir, "planted.cnf", VARS, CLAUSES)));
        }
        Assumptions.assumeTrue(Provers.onPath("cadical"), "cadical is not on PATH; its part of this test is skipped");
        Ran r = run(dir, "cadical", "-q", dir.resolve("planted.cnf").toString());
        assertKind(Kind.CONFIRMED, Certificates.dimacs(gz, r.stdout(), null));
    }

    // ----------------------------------------------------------------------------------------------- SMT-LIB

    private static final String LIA = """
            (set-info :status unknown)
            (set-option :produce-models true)
            (set-logic QF_LIA)
            (declare-fun x () Int)
            (declare-fun |y z| () Int)
            (declare-const b Bool)
            ; a comment with a ) in it
            (assert (> x 2))
            (assert (< x 50))
            (assert (= (+ x |y z|) 10))
            (assert (=> b (> |y z| (- 100))))
            (check-sat)
            (get-value (x))
            (get-model)
            (exit)
            """;

    /** 3 is invertible modulo 256, so a is #x0f in every model. */
    private static final String BV = """
            (set-logic QF_BV)
            (declare-fun a () (_ BitVec 8))
            (declare-fun b () (_ BitVec 32))
            (assert (= (bvmul a #x03) #x2d))
            (assert (bvugt b #x0000ff00))
            (check-sat)
            """;

    private static final String UF = """
            (set-logic QF_UF)
            (declare-sort U 0)
            (declare-fun f (U) U)
            (declare-fun p (U) Bool)
            (declare-fun a () U)
            (assert (not (= (f a) a)))
            (assert (p (f a)))
            (assert (not (p a)))
            (check-sat)
            """;

    private static final String ALIA = """
            (set-logic QF_ALIA)
            (declare-fun a () (Array Int Int))
            (declare-fun i () Int)
            (assert (= (select a i) 5))
            (assert (= (select a (+ i 1)) 7))
            (check-sat)
            """;

    /** The command line that makes each SMT solver print a model after its sat. */
    private static String[] smtCommand(String solver, Path problem) {
        return switch (solver) {
            case "z3" -> new String[] {"z3", "-model", problem.toString()};
            case "cvc5" -> new String[] {"cvc5", "--dump-models", problem.toString()};
            case "cvc4" -> new String[] {"cvc4", "--dump-models", "--lang", "smt2", problem.toString()};
            default -> throw new IllegalArgumentException("no model flags known for " + solver);
        };
    }

    private static Ran solve(Path dir, String solver, String name, String text) throws Exception {
        Path problem = Files.writeString(dir.resolve(name), text);
        Ran r = run(dir, smtCommand(solver, problem));
        assertTrue(r.stdout().startsWith("sat\n"), solver + " should answer sat on " + name + ":\n" + r.stdout());
        return r;
    }

    /** Runs a checker on a script; the checkers are whichever of z3, cvc5, cvc4 are installed, z3 at least. */
    private static List<Check> check(Path dir, String script) throws Exception {
        Path file = Files.writeString(Files.createTempFile(dir, "check", ".smt2"), script);
        List<Check> out = new ArrayList<>();
        out.add(Certificates.smtCheckResult(run(dir, "z3", file.toString()).stdout()));
        if (Provers.onPath("cvc5")) {
            out.add(Certificates.smtCheckResult(run(dir, "cvc5", file.toString()).stdout()));
        }
        if (Provers.onPath("cvc4")) {
            out.add(Certificates.smtCheckResult(run(dir, "cvc4", "--lang", "smt2", file.toString()).stdout()));
        }
        return out;
    }

    private static void assertAll(Kind expected, List<Check> checks, String script) {
        for (Check c : checks) {
            assertEquals(expected, c.kind(), c.detail() + "\nscript:\n" + script);
        }
    }

    /** Replaces the value the model gives a constant, whichever solver's layout it is printed in. */
    private static String withValue(String stdout, String name, String sort, String value) {
        Matcher m = Pattern.compile("(\\(define-fun " + Pattern.quote(name) + " \\(\\) " + Pattern.quote(sort)
                + "\\s+)(\\(- \\d+\\)|\\d+|#[xb][0-9a-fA-F]+)\\)").matcher(stdout);
        assertTrue(m.find(), "no value of " + name + " in\n" + stdout);
        return stdout.substring(0, m.start(2)) + value + stdout.substring(m.end(2));
    }

    @ParameterizedTest
    @ValueSource(strings = {"z3", "cvc5", "cvc4"})
    void qfLiaModelsAreConfirmedAndAWrongValueRefuted(String solver, @TempDir Path dir) throws Exception {
        assumeOnPath(solver);
        assumeOnPath("z3");
        Path problem = dir.resolve("lia.smt2");
        Ran r = solve(dir, solver, "lia.smt2", LIA);
        String script = Certificates.smtCheckScript(problem, r.stdout()).orElseThrow(
                () -> new AssertionError("no check script for the model of " + solver + ":\n" + r.stdout()));
        assertTrue(script.contains("(set-logic QF_LIA)") && script.contains("(assert (= |y z| "), script);
        assertEquals(1, script.split("\\(check-sat\\)", -1).length - 1, script);
        assertFalse(script.contains("get-model") || script.contains("get-value") || script.contains("set-option"),
                script);
        assertAll(Kind.CONFIRMED, check(dir, script), script);

        String wrong = withValue(r.stdout(), "x", "Int", "(- 5)");
        String badScript = Certificates.smtCheckScript(problem, wrong).orElseThrow();
        assertAll(Kind.REFUTED, check(dir, badScript), badScript);
    }

    @ParameterizedTest
    @ValueSource(strings = {"z3", "cvc5", "cvc4"})
    void qfBvModelsAreConfirmedAndAWrongValueRefuted(String solver, @TempDir Path dir) throws Exception {
        assumeOnPath(solver);
        assumeOnPath("z3");
        Path problem = dir.resolve("bv.smt2");
        Ran r = solve(dir, solver, "bv.smt2", BV);
        String script = Certificates.smtCheckScript(problem, r.stdout()).orElseThrow(
                () -> new AssertionError("no check script for the model of " + solver + ":\n" + r.stdout()));
        assertAll(Kind.CONFIRMED, check(dir, script), script);

        String wrong = withValue(r.stdout(), "a", "(_ BitVec 8)", "#x00");
        String badScript = Certificates.smtCheckScript(problem, wrong).orElseThrow();
        assertAll(Kind.REFUTED, check(dir, badScript), badScript);
    }

    /** Arrays are printed as stores into a constant array, which QF_ALIA does not have: the logic is widened. */
    @ParameterizedTest
    @ValueSource(strings = {"z3", "cvc5", "cvc4"})
    void qfAliaModelsWithConstantArraysAreConfirmed(String solver, @TempDir Path dir) throws Exception {
        assumeOnPath(solver);
        assumeOnPath("z3");
        Ran r = solve(dir, solver, "alia.smt2", ALIA);
        String script = Certificates.smtCheckScript(dir.resolve("alia.smt2"), r.stdout()).orElseThrow(
                () -> new AssertionError("no check script for the model of " + solver + ":\n" + r.stdout()));
        assertTrue(script.startsWith("(set-logic ALL)\n") && script.contains("(as const (Array Int Int))"), script);
        assertAll(Kind.CONFIRMED, check(dir, script), script);
    }

    @ParameterizedTest
    @ValueSource(strings = {"z3", "cvc5", "cvc4"})
    void qfUfModelsWithFunctionsAndUninterpretedSortsAreNotChecked(String solver, @TempDir Path dir)
            throws Exception {
        assumeOnPath(solver);
        Ran r = solve(dir, solver, "uf.smt2", UF);
        assertEquals(Optional.empty(), Certificates.smtCheckScript(dir.resolve("uf.smt2"), r.stdout()), r.stdout());
    }

    /** A function with arguments is not checked even over a built-in sort: asserting it needs a quantifier. */
    @Test
    void aFunctionOverIntegersIsNotCheckedButSolverInternalsAreSkipped(@TempDir Path dir) throws Exception {
        Path problem = Files.writeString(dir.resolve("f.smt2"), """
                (set-logic QF_UFLIA)
                (declare-fun f (Int) Int)
                (declare-fun x () Int)
                (assert (= (f x) (div x 0)))
                (check-sat)
                """);
        String withF = "sat\n(\n  (define-fun x () Int\n    4)\n"
                + "  (define-fun f ((x!0 Int)) Int\n    (ite (= x!0 4) 7 0))\n)\n";
        assertEquals(Optional.empty(), Certificates.smtCheckScript(problem, withF));
        // z3's interpretation of division by zero is its own; the checker may pick its own as well
        Path div = Files.writeString(dir.resolve("div.smt2"), """
                (set-logic QF_NIA)
                (declare-fun x () Int)
                (declare-fun y () Int)
                (assert (= (div x y) 3))
                (check-sat)
                """);
        String z3 = "sat\n(\n  (define-fun x () Int\n    (- 1))\n  (define-fun y () Int\n    0)\n"
                + "  (define-fun div0 ((x!0 Int) (x!1 Int)) Int\n    3)\n)\n";
        String script = Certificates.smtCheckScript(div, z3).orElseThrow();
        assertTrue(script.endsWith("(assert (= x (- 1)))\n(assert (= y 0))\n(check-sat)\n(exit)\n"), script);
        assertFalse(script.contains("div0"), script);
    }

    @Test
    void canned(@TempDir Path dir) throws Exception {
        Path problem = Files.writeString(dir.resolve("p.smt2"), LIA);
        String cvc4Old = "sat\n(model\n(define-fun x () Int 3)\n(define-fun |y z| () Int 7)\n"
                + "(define-fun b () Bool false)\n)\n";
        String script = Certificates.smtCheckScript(problem, cvc4Old).orElseThrow();
        assertTrue(script.endsWith(
                "(assert (= x 3))\n(assert (= |y z| 7))\n(assert (= b false))\n(check-sat)\n(exit)\n"), script);
        // the first answer decides, as when the verdict is read
        assertEquals(Optional.empty(), Certificates.smtCheckScript(problem, "unsat\nsat\n(\n)\n"));
        assertEquals(Optional.empty(), Certificates.smtCheckScript(problem, "sat\n"));
        assertEquals(Optional.empty(), Certificates.smtCheckScript(problem,
                "sat\n(error \"line 12 column 10: model is not available\")\n"));
        // z3 answers the problem's get-value before it prints the model of -model
        String z3 = "sat\n((x 3))\n(\n  (define-fun b () Bool\n    true)\n  (define-fun x () Int\n    3)\n"
                + "  (define-fun |y z| () Int\n    7)\n)\n";
        assertTrue(Certificates.smtCheckScript(problem, z3).orElseThrow().endsWith(
                "(assert (= b true))\n(assert (= x 3))\n(assert (= |y z| 7))\n(check-sat)\n(exit)\n"));
        Path uf = Files.writeString(dir.resolve("uf.smt2"), UF);
        for (String value : List.of("(as @U_0 U)", "@uc_U_0", "U!val!0")) {
            String model = "sat\n(\n(define-fun a () U " + value + ")\n)\n";
            assertEquals(Optional.empty(), Certificates.smtCheckScript(uf, model), value);
        }
        Path incremental = Files.writeString(dir.resolve("inc.smt2"),
                "(set-logic QF_LIA)\n(declare-fun x () Int)\n(push 1)\n(assert (> x 0))\n(check-sat)\n(pop 1)\n");
        String x1 = "sat\n(\n(define-fun x () Int 1)\n)\n";
        assertEquals(Optional.empty(), Certificates.smtCheckScript(incremental, x1));
        Path twice = Files.writeString(dir.resolve("twice.smt2"),
                "(set-logic QF_LIA)\n(declare-fun x () Int)\n(check-sat)\n(assert (> x 0))\n(check-sat)\n");
        assertEquals(Optional.empty(), Certificates.smtCheckScript(twice, x1));
        Path broken = Files.writeString(dir.resolve("broken.smt2"), "(set-logic QF_LIA)\n(declare-fun x () Int\n");
        assertEquals(Optional.empty(), Certificates.smtCheckScript(broken, x1));
    }

    @Test
    void checkerOutputIsMapped() {
        assertKind(Kind.CONFIRMED, Certificates.smtCheckResult("sat\n"));
        assertKind(Kind.REFUTED, Certificates.smtCheckResult("unsat\n"));
        assertKind(Kind.ABSENT, Certificates.smtCheckResult("unknown\n"));
        assertKind(Kind.ABSENT, Certificates.smtCheckResult(""));
        assertKind(Kind.ABSENT, Certificates.smtCheckResult(null));
        // z3 carries on after an error and answers for a script that lost the failing assertion
        Check c = Certificates.smtCheckResult("(error \"line 5 column 20: unknown constant k!0\")\nsat\n");
        assertKind(Kind.ABSENT, c);
        assertTrue(c.detail().contains("unknown constant k!0"), c.detail());
    }
}
