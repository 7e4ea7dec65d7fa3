package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Problems;
import dev.scythe.eval.Provers;
import dev.scythe.eval.ResultsDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scythe evaluate} as a user runs it, in a JVM of its own with real provers: a lying prover on PATH is caught,
 * a run killed with SIGKILL resumes to the same results as a run never stopped, and {@code scythe compare} reads two
 * runs. Each test proves that no prover it caused outlives it (none runs with the test's directory in its argv).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class EvaluateProcessTest {
    record Result(int status, String output) {}

    static Result scythe(Map<String, String> env, String... args) throws Exception {
        ProcessBuilder pb = ProcessLevelTest.jvm("dev.scythe.cli.Main", args);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(200, TimeUnit.SECONDS), "scythe ended");
        return new Result(p.exitValue(), out);
    }

    static void assumeInstalled(String... provers) {
        for (String name : provers) {
            Provers.Prover p = Provers.ALL.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
            Assumptions.assumeTrue(p.installed(), name + " is not installed (apt-get install " + p.debianPackage() + ")");
        }
    }

    /** Processes whose argv mentions {@code dir}: provers of ours on its problems, once they should all be gone. */
    static List<String> processesOn(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        String needle = dir.toString();
        for (ProcessHandle p : ProcessHandle.allProcesses().toList()) {
            try {
                String argv = new String(Files.readAllBytes(Path.of("/proc/" + p.pid() + "/cmdline")),
                        StandardCharsets.UTF_8).replace('\0', ' ');
                if (argv.contains(needle) && p.pid() != ProcessHandle.current().pid()) {
                    out.add(p.pid() + ": " + argv);
                }
            } catch (java.io.IOException gone) {
                // it ended while we looked
            }
        }
        return out;
    }

    static void assertNoneLeft(Path dir) throws Exception {
        List<String> left = processesOn(dir);
        // a killed supervisor's provers die with it through its guard, within the guard's poll
        for (int i = 0; i < 100 && !left.isEmpty(); i++) {
            Thread.sleep(50);
            left = processesOn(dir);
        }
        assertEquals(List.of(), left, "processes left on the test's problems");
    }

    @Test
    void aProverThatAlwaysSaysSatIsCaughtAsWrongOrConflicting(@TempDir Path tmp) throws Exception {
        assumeInstalled("minisat");
        Path bin = Files.createDirectories(tmp.resolve("bin")), liar = bin.resolve("always-sat");
        Files.writeString(liar, "#!/bin/sh\necho 's SATISFIABLE'\n");
        Files.setPosixFilePermissions(liar, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path defs = Files.writeString(tmp.resolve("mine.conf"), "[liar]\nfamily = cnf\ncommand = always-sat {file}\n");
        Path dir = Files.createDirectories(tmp.resolve("problems"));
        Files.createDirectories(dir.resolve("stated"));
        Files.createDirectories(dir.resolve("unknown"));
        Files.writeString(dir.resolve("stated/php.cnf"), Problems.pigeons(5, 4));
        Files.writeString(dir.resolve("unknown/php.cnf"), Problems.pigeons(5, 4));
        Files.writeString(dir.resolve("index.tsv"), "stated/php.cnf\tcnf\tunsat\n");
        Map<String, String> path = Map.of("PATH", bin + ":" + System.getenv("PATH"));
        Result r = scythe(path, "evaluate", dir.toString(), "--prover-file", defs.toString(), "--provers",
                "liar,minisat", "--out", tmp.resolve("out").toString(), "--timeout", "20s");
        assertEquals(1, r.status(), r.output());
        assertTrue(r.output().contains("WRONG ANSWER: liar said SAT on stated/php.cnf, stated UNSAT"), r.output());
        assertTrue(r.output().contains("CONFLICT: on unknown/php.cnf, liar"), r.output());
        assertTrue(r.output().contains("said SAT; minisat"), r.output());
        assertNoneLeft(tmp);

        Result unknown = scythe(path, "evaluate", dir.toString(), "--provers", "liar", "--out",
                tmp.resolve("out2").toString());
        assertEquals(125, unknown.status(), unknown.output());
        assertTrue(unknown.output().contains("--provers: unknown prover 'liar'"), unknown.output());
        Path ghost = Files.writeString(tmp.resolve("ghost.conf"), "[ghost]\nfamily = cnf\ncommand = no-such-solver "
                + "{file}\npackage = ghost-solver\n");
        Result missing = scythe(path, "evaluate", dir.toString(), "--prover-file", ghost.toString(), "--provers",
                "ghost", "--out", tmp.resolve("out3").toString());
        assertEquals(125, missing.status(), missing.output());
        assertTrue(missing.output().contains("not installed: ghost ('no-such-solver' is not on PATH; Debian package "
                + "ghost-solver)"), missing.output());
    }

    /** Finished attempts in a results database, by problem and solver: answer and whether it was solved. */
    static Map<String, String> results(Path out) throws Exception {
        try (ResultsDatabase db = ResultsDatabase.open(out.resolve(ResultsDatabase.FILE))) {
            Map<String, String> m = new TreeMap<>();
            for (Evaluation.Run r : Evaluation.fromDatabase(db).runs()) {
                String was = m.put(r.problem().id() + " " + r.solver(), r.verdict() + (r.solved() ? " solved" : ""));
                assertEquals(null, was, "one finished attempt per problem and solver: " + r);
            }
            return m;
        }
    }

    static int finishedRows(Path db) throws Exception {
        if (!Files.exists(db)) {
            return 0;
        }
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + db); var s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM runs WHERE outcome <> 'running'")) {
            return rs.next() ? rs.getInt(1) : 0;
        } catch (java.sql.SQLException notYet) { // the run has not made its tables yet
            return 0;
        }
    }

    @Test
    void aRunKilledWithSigkillResumesToTheSameResultsAndCompareReadsBoth(@TempDir Path tmp) throws Exception {
        assumeInstalled("minisat", "cadical", "picosat", "z3", "cvc5");
        Path corpus = dev.scythe.Checkout.resolve("corpus"), dir = tmp.resolve("problems");
        for (String f : List.of("cnf/php-7-6.cnf", "cnf/php-8-7.cnf", "cnf/planted3sat-200-0.cnf",
                "cnf/random3sat-200-0.cnf", "smt2/lia-pigeon-6.smt2",
                "smt2/uf-holes-5-4.smt2", "smt2/factor-composite-16.smt2")) {
            Files.createDirectories(dir.resolve(f).getParent());
            Files.copy(corpus.resolve(f), dir.resolve(f)); // no index: statuses come from answers and models
        }
        List<String> common = List.of("--provers", "minisat,cadical,picosat,z3,cvc5", "--timeout", "60s",
                "--portfolio", "cores,sequential");
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        List<String> args = new ArrayList<>(List.of("evaluate", dir.toString(), "--out", a.toString()));
        args.addAll(common);
        Result whole = scythe(Map.of(), args.toArray(String[]::new));
        assertEquals(0, whole.status(), whole.output());
        assertNoneLeft(tmp);

        args.set(3, b.toString());
        Process killed = ProcessLevelTest.jvm("dev.scythe.cli.Main", args.toArray(String[]::new))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (finishedRows(b.resolve(ResultsDatabase.FILE)) < 6 && killed.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(killed.isAlive(), "the run was still going when killed");
        killed.destroyForcibly(); // SIGKILL: no shutdown hook, no last write
        assertTrue(killed.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, killed.exitValue());
        assertNoneLeft(tmp);
        assertTrue(Files.isDirectory(b.resolve(Evaluation.SCRATCH)), "a killed run leaves its scratch beside its db");
        int before = finishedRows(b.resolve(ResultsDatabase.FILE));
        assertTrue(before >= 6 && before < results(a).size(), before + " of " + results(a).size());

        args.add("--resume");
        Result resumed = scythe(Map.of(), args.toArray(String[]::new));
        assertEquals(0, resumed.status(), resumed.output());
        assertTrue(resumed.output().contains("scythe: resuming"), resumed.output());
        assertNoneLeft(tmp);
        assertEquals(results(a), results(b), "the resumed run ends with the uninterrupted run's results");
        for (Path out : List.of(a, b)) {
            assertTrue(!Files.exists(out.resolve(Evaluation.SCRATCH)), "the scratch of " + out + " was removed");
        }

        Result compared = scythe(Map.of(), "compare", a.toString(), b.toString());
        assertEquals(0, compared.status(), compared.output());
        assertTrue(compared.output().contains("Every solver solves the same problems in A and in B."),
                compared.output());
        assertTrue(compared.output().lines().anyMatch(l -> l.matches("portfolio\\s+all\\s+7\\s+7\\s+7\\s.*")),
                compared.output());
        Result bad = scythe(Map.of(), "compare", a.toString(), tmp.resolve("nowhere").toString());
        assertEquals(125, bad.status(), bad.output());
        assertTrue(bad.output().contains("no results database " + tmp.resolve("nowhere")), bad.output());
    }
}
