package dev.scythe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.eval.Provers.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Prover definitions: the shipped file, a user's file laid over it, and errors that name the line and the fault. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProverFileTest {
    @Test
    void theShippedFileDefinesTheTenDebianProvers() {
        assertEquals(List.of("minisat", "picosat", "cadical", "cryptominisat", "z3", "cvc5", "cvc4", "boolector",
                "eprover", "spass"), Provers.ALL.stream().map(Provers.Prover::name).toList());
        Provers.Prover minisat = Provers.ALL.get(0);
        assertTrue(minisat.writesModelFile());
        assertEquals(List.of("minisat", "-verb=0", "/p.cnf", "/m"), minisat.commandFor(Path.of("/p.cnf"),
                Path.of("/m")));
        assertEquals(Verdict.UNSAT, minisat.verdict("UNSATISFIABLE\n"));
        Provers.Prover z3 = Provers.ALL.stream().filter(p -> p.name().equals("z3")).findFirst().orElseThrow();
        // the first answer decides: a model printed after "sat" holds no other answer
        assertEquals(Verdict.SAT, z3.verdict("sat\n(\n  (define-fun unsat () Bool\n    false)\n)\n"));
        assertEquals(Verdict.UNKNOWN, z3.verdict("unknown\n"));
    }

    @Test
    void aUsersFileAddsProversAndReplacesOnesOfTheSameName(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("mine.conf"), """
                # mine
                [z3]
                family = smt2
                command = z3 -smt2 -T:1 {file}

                [my-sat]
                family = cnf
                command = my-sat {file}
                sat = ^RESULT: SAT$
                unsat = ^RESULT: UNSAT$
                version = my-sat --version
                """);
        List<Provers.Prover> all = Provers.withFile(file);
        assertEquals(11, all.size());
        Provers.Prover z3 = all.stream().filter(p -> p.name().equals("z3")).findFirst().orElseThrow();
        assertEquals(List.of("z3", "-smt2", "-T:1", "{file}"), z3.command());
        Provers.Prover mine = all.get(10);
        assertEquals("my-sat", mine.name());
        assertEquals(Verdict.SAT, mine.verdict("c hello\nRESULT: SAT\n"));
        assertEquals(Verdict.UNSAT, mine.verdict("RESULT: UNSAT\n"));
        assertEquals(Verdict.UNKNOWN, mine.verdict("s SATISFIABLE\n"), "its own patterns replace the reader's");
        assertEquals(List.of("my-sat", "--version"), mine.versionCommand());
    }

    private static String error(String text) {
        return assertThrows(IOException.class, () -> Provers.parse(text, "f.conf")).getMessage();
    }

    @Test
    void badDefinitionsAreRefusedNamingTheLineAndWhatWasWrong(@TempDir Path dir) {
        assertEquals("f.conf:1: expected [name] or key = value, got 'family = cnf'", error("family = cnf\n"));
        assertEquals("f.conf:2: unknown key 'comand' (known: [family, command, answer, sat, unsat, theorem, "
                + "countersatisfiable, only-if, version, package])", error("[a]\ncomand = x {file}\n"));
        assertEquals("f.conf:1: prover 'a': family must be one of [cnf, smt2, tptp], got 'sat'",
                error("[a]\nfamily = sat\ncommand = a {file}\n"));
        assertEquals("f.conf:1: prover 'a': no command", error("[a]\nfamily = cnf\n"));
        assertEquals("f.conf:1: prover 'a': the command never names the problem: put {file} where it goes",
                error("[a]\nfamily = cnf\ncommand = a\n"));
        assertTrue(error("[a]\nfamily = cnf\ncommand = a {file}\nsat = (unclosed\n").startsWith(
                "f.conf:1: prover 'a': Unclosed group"));
        assertEquals("f.conf:1: prover 'a': unknown answer reader 'xml' (known: dimacs, smtlib, szs)",
                error("[a]\nfamily = cnf\ncommand = a {file}\nanswer = xml\n"));
        assertEquals("f.conf:4: prover 'a' is defined twice", error("[a]\nfamily = cnf\ncommand = a {file}\n[a]\n"));
        assertEquals("f.conf:1: prover name 'a b' must be letters, digits and _ . + - only", error("[a b]\n"));
        assertEquals("prover file " + dir.resolve("none") + ": no such file",
                assertThrows(IOException.class, () -> Provers.withFile(dir.resolve("none"))).getMessage());
    }
}
