package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Checkout;
import dev.scythe.eval.Corpus.Scan;
import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Verdict;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Finding problems in arbitrary directory trees, with and without an index.tsv, from real files. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CorpusTest {
    static final String DIMACS_SAT = "c a tiny formula\nc status sat\np cnf 2 2\n1 2 0\n-1 0\n";
    static final String DIMACS = "c no stated status\n\np  cnf 1 1\n1 0\n";
    static final String SMT_UNSAT = """
            ; a contradiction
            (set-info :smt-lib-version 2.6)
            (set-logic QF_UF)
            (set-info :status unsat)
            (declare-const a Bool)
            (assert (and a (not a)))
            (check-sat)
            """;
    static final String SMT = "(set-logic QF_LIA)\n(declare-fun x () Int)\n(assert (> x 0))\n(check-sat)\n";
    static final String TPTP_THM = """
            %------------------------------------------------------------------------------
            % File     : TEST001+1 : a test
            % Status   : Theorem
            %------------------------------------------------------------------------------
            fof(a, axiom, p).
            fof(c, conjecture, p).
            """;
    static final String TPTP_CSA = "% Status   : CounterSatisfiable\nfof(c, conjecture, p).\n";
    static final String TPTP = "/* no header */\ninclude('Axioms/SET001-0.ax').\nfof(c, conjecture, q).\n";
    static final String TPTP_CNF_UNSAT =
            "% Status   : Unsatisfiable\ncnf(a, axiom, p).\ncnf(b, negated_conjecture, ~p).\n";

    static Path write(Path dir, String rel, String content) throws IOException {
        Path f = dir.resolve(rel);
        Files.createDirectories(f.getParent());
        return Files.writeString(f, content, StandardCharsets.UTF_8);
    }

    static Problem problem(Path dir, String id, String family, Verdict status) {
        return new Problem(dir.resolve(id), id, family, status);
    }

    @Test
    void findsProblemsOfAllFamiliesInATreeWithoutIndex(@TempDir Path dir) throws IOException {
        write(dir, "sat/a.cnf", DIMACS_SAT);
        write(dir, "sat/deep/er/b.dimacs", DIMACS);
        write(dir, "smt/x.smt2", SMT_UNSAT);
        write(dir, "smt/y.smt", SMT);
        write(dir, "tptp/t.p", TPTP_THM);
        write(dir, "tptp/u.tptp", TPTP_CSA);
        write(dir, "tptp/v.fof", TPTP);
        // Passed over without a word: includes, notes, hidden files and directories.
        write(dir, "tptp/Axioms/SET001-0.ax", "fof(ax, axiom, p).\n");
        write(dir, "README", "Some benchmarks.\n");
        write(dir, "docs/NOTES.md", "# Notes\n");
        write(dir, "notes.txt", "solved by hand\n");
        write(dir, ".hidden.cnf", DIMACS);
        write(dir, ".git/objects/x.cnf", DIMACS);
        // Passed over and reported.
        write(dir, "run.sh", "#!/bin/sh\nminisat \"$1\"\n");
        Files.write(dir.resolve("sat/big.cnf.gz"), new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0});
        Files.write(dir.resolve("blob"), new byte[] {'p', ' ', 'c', 'n', 'f', 0, 1, 2});

        Scan scan = Corpus.scanDetailed(dir);
        assertEquals(List.of(
                problem(dir, "sat/a.cnf", "cnf", Verdict.SAT),
                problem(dir, "sat/deep/er/b.dimacs", "cnf", Verdict.UNKNOWN),
                problem(dir, "smt/x.smt2", "smt2", Verdict.UNSAT),
                problem(dir, "smt/y.smt", "smt2", Verdict.UNKNOWN),
                problem(dir, "tptp/t.p", "tptp", Verdict.THEOREM),
                problem(dir, "tptp/u.tptp", "tptp", Verdict.COUNTER_SATISFIABLE),
                problem(dir, "tptp/v.fof", "tptp", Verdict.UNKNOWN)), scan.problems());
        assertEquals(List.of(Path.of("blob"), Path.of("run.sh"), Path.of("sat/big.cnf.gz")), scan.skipped());
        assertEquals(scan.problems(), Corpus.scan(dir));
    }

    @Test
    void contentDecidesWhereTheExtensionLiesOrIsMissing(@TempDir Path dir) throws IOException {
        write(dir, "clauses.cnf", TPTP_CNF_UNSAT);
        write(dir, "formula.txt", DIMACS_SAT);
        write(dir, "formula", DIMACS);
        write(dir, "README.cnf", DIMACS);
        write(dir, "query.p", SMT_UNSAT);
        write(dir, "query.dat", "\n  ( set-option :produce-models true)\n(check-sat)\n");
        write(dir, "garbage.cnf", "this is not a formula\n");
        write(dir, "wcnf.cnf", "p wcnf 2 1 10\n10 1 2 0\n");

        Scan scan = Corpus.scanDetailed(dir);
        assertEquals(List.of(
                problem(dir, "README.cnf", "cnf", Verdict.UNKNOWN),
                problem(dir, "clauses.cnf", "tptp", Verdict.THEOREM),
                problem(dir, "formula", "cnf", Verdict.UNKNOWN),
                problem(dir, "formula.txt", "cnf", Verdict.SAT),
                problem(dir, "query.dat", "smt2", Verdict.UNKNOWN),
                problem(dir, "query.p", "smt2", Verdict.UNSAT)), scan.problems());
        assertEquals(List.of(Path.of("garbage.cnf"), Path.of("wcnf.cnf")), scan.skipped());
        assertEquals("tptp", Corpus.sniff(dir.resolve("clauses.cnf")));
        assertNull(Corpus.sniff(dir.resolve("garbage.cnf")));
    }

    @Test
    void anExtensionDecidesOnlyWhenTheHeadIsAllComments(@TempDir Path dir) throws IOException {
        String longHeader = "c padding padding padding padding padding padding padding\n".repeat(2000)
                + "p cnf 1 1\n1 0\n";
        assertTrue(longHeader.length() > Corpus.HEAD);
        assertEquals("cnf", Corpus.sniff(write(dir, "long.cnf", longHeader)));
        assertNull(Corpus.sniff(write(dir, "long.dat", longHeader)));
        String longTptp = "% a long header\n".repeat(5000) + "fof(c, conjecture, p).\n";
        assertEquals("tptp", Corpus.sniff(write(dir, "long.p", longTptp)));
        // A head of comments in another family's syntax is no evidence for the extension.
        assertNull(Corpus.sniff(write(dir, "long.smt2", longTptp)));
        assertNull(Corpus.sniff(write(dir, "empty.cnf", "")));
        assertNull(Corpus.sniff(write(dir, "x.cnf.xz", DIMACS)));
        assertNull(Corpus.sniff(write(dir, "x.smt2.bz2", SMT)));
    }

    @Test
    void readsTheStatusEachFormatStates(@TempDir Path dir) throws IOException {
        Map<String, Verdict> tptp = Map.of("Theorem", Verdict.THEOREM, "Unsatisfiable", Verdict.THEOREM,
                "CounterSatisfiable", Verdict.COUNTER_SATISFIABLE, "Satisfiable", Verdict.COUNTER_SATISFIABLE,
                "ContradictoryAxioms", Verdict.UNKNOWN, "Open", Verdict.UNKNOWN, "Unknown", Verdict.UNKNOWN);
        for (var e : tptp.entrySet()) {
            Path f = write(dir, e.getKey() + ".p", "% Domain   : Testing\n% Status   : " + e.getKey()
                    + "\n% Rating   : 0.00 v7.5.0\nfof(c, conjecture, p).\n");
            assertEquals(e.getValue(), Corpus.statedStatus(f, "tptp"), e.getKey());
        }
        assertEquals(Verdict.UNKNOWN, Corpus.statedStatus(write(dir, "none.p", TPTP), "tptp"));

        assertEquals(Verdict.SAT, Corpus.statedStatus(write(dir, "s.smt2",
                "(set-info :source |x|)\n(set-info  :status\n  sat )\n(set-logic QF_UF)\n(check-sat)\n"), "smt2"));
        assertEquals(Verdict.UNKNOWN, Corpus.statedStatus(write(dir, "u.smt2",
                "(set-info :status unknown)\n(check-sat)\n"), "smt2"));
        assertEquals(Verdict.UNKNOWN, Corpus.statedStatus(write(dir, "commented.smt2",
                "; (set-info :status sat)\n(set-logic QF_UF)\n(check-sat)\n"), "smt2"));
        // Incremental benchmarks state one status per check-sat; the first is what a prover answers first.
        assertEquals(Verdict.UNSAT, Corpus.statedStatus(write(dir, "inc.smt2",
                "(set-info :status unsat)\n(check-sat)\n(set-info :status sat)\n(check-sat)\n"), "smt2"));

        assertEquals(Verdict.UNSAT, Corpus.statedStatus(write(dir, "u.cnf",
                "c status: UNSATISFIABLE\r\np cnf 1 2\r\n1 0\r\n-1 0\r\n"), "cnf"));
        // Free text that happens to end in a status word is not a statement.
        assertEquals(Verdict.UNKNOWN, Corpus.statedStatus(write(dir, "free.cnf",
                "c pigeonhole 3 into 2: unsat\np cnf 1 1\n1 0\n"), "cnf"));
        assertThrows(IllegalArgumentException.class, () -> Corpus.statedStatus(dir.resolve("u.cnf"), "dimacs"));
    }

    @Test
    void theIndexOverridesAndCompletesTheWalk(@TempDir Path dir) throws IOException {
        write(dir, "a.cnf", DIMACS);
        write(dir, "b/b.smt2", SMT_UNSAT);
        write(dir, "c.p", TPTP);
        write(dir, "d.cnf", DIMACS_SAT);
        write(dir, "weird.dat", "1 2 0\n-1 0\n");
        write(dir, "e.cnf", DIMACS_SAT);
        write(dir, "index.tsv", """
                # file\tfamily\tstatus

                a.cnf\tcnf\tunsat
                ./b/b.smt2\tsmt2\tunknown\r
                c.p\t-\tTheorem
                weird.dat\tcnf\tsat
                e.cnf\t-\tsat
                """);
        Scan scan = Corpus.scanDetailed(dir);
        assertEquals(List.of(
                problem(dir, "a.cnf", "cnf", Verdict.UNSAT),
                problem(dir, "b/b.smt2", "smt2", Verdict.UNSAT),
                problem(dir, "c.p", "tptp", Verdict.THEOREM),
                problem(dir, "d.cnf", "cnf", Verdict.SAT),
                problem(dir, "e.cnf", "cnf", Verdict.SAT),
                problem(dir, "weird.dat", "cnf", Verdict.SAT)), scan.problems());
        assertEquals(List.of(), scan.skipped());
    }

    @Test
    void aWrongIndexIsAnErrorNamingItsLine(@TempDir Path dir) throws IOException {
        write(dir, "a.cnf", DIMACS);
        write(dir, "b.smt2", SMT_UNSAT);
        write(dir, "t.p", TPTP_THM);
        write(dir, "weird.dat", "1 2 0\n");
        Path index = dir.resolve("index.tsv");

        String expected = "expected file<TAB>cnf|smt2|tptp|-<TAB>status, got ";
        assertIndexError(dir, "# ok\na.cnf\tcnf\n", index + ":2: " + expected + "'a.cnf\tcnf'");
        assertIndexError(dir, "a.cnf\tdimacs\tsat\n", index + ":1: " + expected + "'a.cnf\tdimacs\tsat'");
        assertIndexError(dir, "a.cnf cnf sat\n", index + ":1: " + expected + "'a.cnf cnf sat'");
        assertIndexError(dir, "a.cnf\tcnf\tmaybe\n",
                index + ":1: unknown status 'maybe' (expected sat, unsat, Theorem, CounterSatisfiable or unknown)");
        assertIndexError(dir, "a.cnf\tcnf\tsat\n\nmissing.cnf\tcnf\tsat\n",
                index + ":3: no file " + dir.resolve("missing.cnf"));
        assertIndexError(dir, "../a.cnf\tcnf\tsat\n", index + ":1: file ../a.cnf is not inside " + dir);
        assertIndexError(dir, "a.cnf\tcnf\tsat\n./a.cnf\tcnf\tsat\n",
                index + ":2: a.cnf is listed twice (first on line 1)");
        assertIndexError(dir, "b.smt2\tsmt2\tsat\n",
                index + ":1: the index says sat but " + dir.resolve("b.smt2") + " states unsat; correct one of them");
        assertIndexError(dir, "t.p\t-\tCounterSatisfiable\n", index + ":1: the index says CounterSatisfiable but "
                + dir.resolve("t.p") + " states Theorem; correct one of them");
        assertIndexError(dir, "a.cnf\tsmt2\tsat\n", index + ":1: the index says " + dir.resolve("a.cnf")
                + " is smt2 but it reads as cnf");
        assertIndexError(dir, "a.cnf\tcnf\tTheorem\n",
                index + ":1: status Theorem does not apply to a cnf problem (expected sat, unsat or unknown)");
        assertIndexError(dir, "t.p\ttptp\tunsat\n", index + ":1: status unsat does not apply to a tptp problem"
                + " (expected Theorem, CounterSatisfiable or unknown)");
        assertIndexError(dir, "weird.dat\t-\tunknown\n", index + ":1: cannot tell whether " + dir.resolve("weird.dat")
                + " is DIMACS, SMT-LIB or TPTP; give its family (cnf, smt2 or tptp) instead of -");
    }

    static void assertIndexError(Path dir, String index, String message) throws IOException {
        Files.writeString(dir.resolve("index.tsv"), index);
        IOException e = assertThrows(IOException.class, () -> Corpus.scan(dir), index);
        assertEquals(message, e.getMessage());
    }

    @Test
    void aDirectoryWithoutProblemsIsAnError(@TempDir Path dir) throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertEquals("no problems (DIMACS, SMT-LIB or TPTP files) under " + empty,
                assertThrows(IOException.class, () -> Corpus.scan(empty)).getMessage());

        Path junk = Files.createDirectory(dir.resolve("junk"));
        write(junk, "README.md", "# nothing here\n");
        write(junk, "a.log", "solved\n");
        write(junk, "b.cnf.gz", "");
        write(junk, ".c.cnf", DIMACS);
        assertEquals("no problems (DIMACS, SMT-LIB or TPTP files) under " + junk
                + "; skipped 2 files: a.log, b.cnf.gz",
                assertThrows(IOException.class, () -> Corpus.scanDetailed(junk)).getMessage());

        Path file = write(dir, "a.cnf", DIMACS);
        assertEquals(file + " is not a directory",
                assertThrows(IOException.class, () -> Corpus.scan(file)).getMessage());
        assertEquals("no directory " + dir.resolve("nope"),
                assertThrows(IOException.class, () -> Corpus.scan(dir.resolve("nope"))).getMessage());

        // Only entries below the scanned directory count as hidden.
        Path hidden = write(dir, ".corpus/x.cnf", DIMACS).getParent();
        assertEquals(List.of(problem(hidden, "x.cnf", "cnf", Verdict.UNKNOWN)), Corpus.scan(hidden));
    }

    @Test
    void followsSymbolicLinksButNotInCircles(@TempDir Path dir) throws IOException {
        Path corpus = Files.createDirectory(dir.resolve("corpus"));
        Path elsewhere = write(dir, "elsewhere/e.smt2", SMT).getParent();
        write(corpus, "sub/a.cnf", DIMACS);
        Files.createSymbolicLink(corpus.resolve("sub/up"), corpus);
        Files.createSymbolicLink(corpus.resolve("linked"), elsewhere);
        Files.createSymbolicLink(corpus.resolve("l.p"), write(dir, "t.p", TPTP_THM));
        Files.createSymbolicLink(corpus.resolve("dangling.cnf"), dir.resolve("nothing"));
        Path viaLink = Files.createSymbolicLink(dir.resolve("link-to-corpus"), corpus);

        Scan scan = Corpus.scanDetailed(viaLink);
        assertEquals(List.of("l.p", "linked/e.smt2", "sub/a.cnf"),
                scan.problems().stream().map(Problem::id).toList());
        assertEquals(viaLink.resolve("sub/a.cnf"), scan.problems().get(2).file());
        assertEquals(List.of(Path.of("dangling.cnf")), scan.skipped());
    }

    /** The shipped corpus, found by the walk, is what its index.tsv says; without the index the walk finds it all. */
    @Test
    void scansTheShippedCorpusAsItsIndexDescribesIt(@TempDir Path dir) throws IOException {
        Path corpus = Checkout.resolve("corpus");
        Map<String, Problem> indexed = new TreeMap<>();
        for (String line : Files.readAllLines(corpus.resolve("index.tsv"))) {
            String[] f = line.split("\t");
            indexed.put(f[0], new Problem(corpus.resolve(f[0]), f[0], f[1], Provers.Verdict.ofStatus(f[2])));
        }
        Scan scan = Corpus.scanDetailed(corpus);
        assertEquals(64, scan.problems().size());
        assertEquals(List.of(), scan.skipped());
        assertEquals(List.copyOf(indexed.values()), scan.problems());

        // A copy without the index: the same problems and families, and any status a file states agrees.
        try (Stream<Path> files = Files.walk(corpus)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (!f.getFileName().toString().equals("index.tsv")) {
                    Path to = dir.resolve(corpus.relativize(f).toString());
                    Files.createDirectories(to.getParent());
                    Files.copy(f, to);
                }
            }
        }
        List<Problem> walked = Corpus.scan(dir);
        assertEquals(indexed.keySet(), walked.stream().map(Problem::id).collect(Collectors.toSet()));
        for (Problem p : walked) {
            Problem known = indexed.get(p.id());
            assertEquals(known.family(), p.family(), p.id());
            assertTrue(p.status() == Verdict.UNKNOWN || p.status() == known.status(), p.id());
        }
    }
}
