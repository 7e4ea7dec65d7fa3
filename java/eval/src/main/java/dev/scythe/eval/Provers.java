package dev.scythe.eval;

import dev.scythe.Output;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The provers Scythe knows how to call, per problem family, and how to read each one's verdict. */
public final class Provers {
    /** Whether {@code program} is an executable file in a directory of PATH. */
    public static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** What a prover said about a problem. */
    public enum Verdict { SAT, UNSAT, THEOREM, COUNTER_SATISFIABLE, UNKNOWN;

        /** Parses a corpus status (sat, unsat, Theorem, CounterSatisfiable). */
        public static Verdict ofStatus(String status) {
            return switch (status) {
                case "sat" -> SAT;
                case "unsat" -> UNSAT;
                case "Theorem" -> THEOREM;
                case "CounterSatisfiable" -> COUNTER_SATISFIABLE;
                default -> throw new IllegalArgumentException("unknown status '" + status + "'");
            };
        }
    }

    /** A prover: its name, the family of problems it takes, its command ({file} is the problem), its Debian package. */
    public record Prover(String name, String family, List<String> command, String debianPackage, Pattern onlyIf) {
        public List<String> commandFor(Path problem) {
            return command.stream().map(a -> a.replace("{file}", problem.toString())).toList();
        }

        /** True when this prover takes the problem (boolector: bit-vector logics only). */
        public boolean accepts(Problem p) throws IOException {
            return p.family().equals(family) && (onlyIf == null || onlyIf.matcher(Files.readString(p.file())).find());
        }

        public boolean installed() {
            return onPath(command.get(0));
        }

        public Verdict verdict(Output stdout) {
            return Provers.verdict(family, stdout.text());
        }
    }

    /** A corpus problem with its known status. */
    public record Problem(Path file, String family, Verdict status) {
        public String name() {
            return file.getFileName().toString();
        }
    }

    public static final List<Prover> ALL = List.of(
            new Prover("minisat", "cnf", List.of("minisat", "-verb=0", "{file}"), "minisat", null),
            new Prover("picosat", "cnf", List.of("picosat", "{file}"), "picosat", null),
            new Prover("cadical", "cnf", List.of("cadical", "-q", "{file}"), "cadical", null),
            new Prover("cryptominisat", "cnf", List.of("cryptominisat5", "--verb", "0", "{file}"), "cryptominisat",
                    null),
            new Prover("z3", "smt2", List.of("z3", "{file}"), "z3", null),
            new Prover("cvc5", "smt2", List.of("cvc5", "{file}"), "cvc5", null),
            new Prover("cvc4", "smt2", List.of("cvc4", "--lang", "smt2", "{file}"), "cvc4", null),
            new Prover("boolector", "smt2", List.of("boolector", "{file}"), "boolector",
                    Pattern.compile("\\(set-logic QF_A?BV\\)")),
            new Prover("eprover", "tptp", List.of("eprover", "--auto", "-s", "{file}"), "eprover", null),
            new Prover("spass", "tptp", List.of("SPASS", "-TPTP", "{file}"), "spass", null));

    private static final Pattern DIMACS = Pattern.compile("^(?:s )?(UNSATISFIABLE|SATISFIABLE)\\s*$", Pattern.MULTILINE);
    private static final Pattern SMT = Pattern.compile("^(unsat|sat)\\s*$", Pattern.MULTILINE);
    private static final Pattern SZS = Pattern.compile("SZS status (Theorem|Unsatisfiable|CounterSatisfiable|Satisfiable)");

    private Provers() {}

    /** The verdict in a prover's output, by family; UNKNOWN when it gave none (or gave up). */
    public static Verdict verdict(String family, String out) {
        switch (family) {
            case "cnf" -> {
                Matcher m = DIMACS.matcher(out);
                return m.find() ? (m.group(1).equals("SATISFIABLE") ? Verdict.SAT : Verdict.UNSAT) : Verdict.UNKNOWN;
            }
            case "smt2" -> {
                Matcher m = SMT.matcher(out);
                return m.find() ? (m.group(1).equals("sat") ? Verdict.SAT : Verdict.UNSAT) : Verdict.UNKNOWN;
            }
            default -> {
                Matcher m = SZS.matcher(out);
                if (m.find()) {
                    return switch (m.group(1)) {
                        case "Theorem", "Unsatisfiable" -> Verdict.THEOREM;
                        default -> Verdict.COUNTER_SATISFIABLE;
                    };
                }
                if (out.contains("SPASS beiseite: Proof found.")) {
                    return Verdict.THEOREM;
                }
                return out.contains("SPASS beiseite: Completion found.") ? Verdict.COUNTER_SATISFIABLE
                        : Verdict.UNKNOWN;
            }
        }
    }

    /** The problems listed in {@code <corpus>/index.tsv}: file (relative), family (cnf, smt2, tptp), known status. */
    public static List<Problem> load(Path corpus) throws IOException {
        List<Problem> out = new ArrayList<>();
        Path index = corpus.resolve("index.tsv");
        if (!Files.exists(index)) {
            throw new IOException("no index.tsv in " + corpus + " (lines: file<TAB>family<TAB>status)");
        }
        int n = 0;
        for (String line : Files.readAllLines(index)) {
            n++;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t");
            if (f.length != 3 || !List.of("cnf", "smt2", "tptp").contains(f[1])) {
                throw new IOException(index + ":" + n + ": expected file<TAB>cnf|smt2|tptp<TAB>status, got '" + line + "'");
            }
            Path file = corpus.resolve(f[0]);
            if (!Files.isRegularFile(file)) {
                throw new IOException(index + ":" + n + ": no file " + file);
            }
            out.add(new Problem(file, f[1], Verdict.ofStatus(f[2])));
        }
        return out;
    }
}
