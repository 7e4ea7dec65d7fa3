// Generates Scythe's benchmark corpus with a fixed seed: `java scripts/gen-corpus.java [corpus-dir] [seed]`.
// Every problem's status is known, so a prover's wrong answer is caught: by construction (planted solutions,
// pigeonhole principles, primes, chains of implications, textbook theorems), except uniform random 3-SAT at the
// phase transition, which has no planted model and is certified here by two solvers: a satisfying assignment is
// checked against the clauses, and unsat needs cadical and minisat to agree (so regenerating needs both on PATH).
// Families and sizes spread difficulty across solvers.
// Output: <dir>/{cnf,smt2,tptp}/*.{cnf,smt2,p} and <dir>/index.tsv (file, family, status).
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

public class GenCorpus {
    static final List<String> index = new ArrayList<>();
    static Path root;

    public static void main(String[] args) throws IOException {
        root = Path.of(args.length > 0 ? args[0] : "corpus");
        Random rnd = new Random(args.length > 1 ? Long.parseLong(args[1]) : 20261122L);
        for (String d : new String[] {"cnf", "smt2", "tptp"}) {
            Files.createDirectories(root.resolve(d));
        }
        // CNF: pigeonhole (unsat), planted 3-SAT near the phase transition (sat), parity chains (unsat/sat).
        for (int n = 5; n <= 9; n++) {
            write("cnf/php-" + (n + 1) + "-" + n + ".cnf", "cnf", "unsat", pigeonhole(n + 1, n));
        }
        for (int v : new int[] {150, 200, 250, 300, 350, 400}) {
            for (int k = 0; k < 2; k++) {
                write("cnf/planted3sat-" + v + "-" + k + ".cnf", "cnf", "sat", planted3Sat(rnd, v, (int) (v * 4.2)));
            }
        }
        for (int n : new int[] {40, 80, 120}) {
            write("cnf/parity-" + n + "-unsat.cnf", "cnf", "unsat", parity(rnd, n, true));
            write("cnf/parity-" + n + "-sat.cnf", "cnf", "sat", parity(rnd, n, false));
        }
        // Uniform random 3-SAT at the phase transition (ratio 4.26): a stream of its own, so adding it left the
        // families above and below as they were.
        Random threshold = new Random((args.length > 1 ? Long.parseLong(args[1]) : 20261122L) ^ 0x3_5A7L);
        for (int v : new int[] {200, 250, 300}) {
            for (int k = 0; k < 2; k++) {
                List<int[]> cl = random3Sat(threshold, v, (int) Math.round(v * 4.26));
                String status = certify(v, cl);
                write("cnf/random3sat-" + v + "-" + k + ".cnf", "cnf", status, cnf(v, cl,
                        "uniform random 3-SAT, ratio 4.26, no planted model: " + status + " (certified by "
                                + (status.equals("sat") ? "a checked model" : "cadical and minisat") + ")"));
            }
        }
        // SMT-LIB: QF_BV factoring (prime: unsat, composite: sat), QF_LIA planted systems and pigeon sums, QF_UF holes.
        for (int bits : new int[] {16, 20, 24, 28}) {
            BigInteger p = BigInteger.probablePrime(bits, rnd);
            BigInteger q = BigInteger.probablePrime(bits / 2, rnd), r = BigInteger.probablePrime(bits / 2, rnd);
            write("smt2/factor-prime-" + bits + ".smt2", "smt2", "unsat", factor(p, bits));
            write("smt2/factor-composite-" + bits + ".smt2", "smt2", "sat", factor(q.multiply(r), bits));
        }
        for (int n : new int[] {6, 10, 14, 18}) {
            write("smt2/lia-planted-" + n + ".smt2", "smt2", "sat", liaPlanted(rnd, n));
            write("smt2/lia-pigeon-" + n + ".smt2", "smt2", "unsat", liaPigeon(n));
        }
        for (int n : new int[] {4, 6, 8}) {
            write("smt2/uf-holes-" + (n + 1) + "-" + n + ".smt2", "smt2", "unsat", ufHoles(n + 1, n));
            write("smt2/uf-holes-" + n + "-" + n + ".smt2", "smt2", "sat", ufHoles(n, n));
        }
        // TPTP FOF: chains of implications (Theorem) and the same chain one step short (CounterSatisfiable).
        for (int k : new int[] {5, 20, 60}) {
            write("tptp/chain-" + k + "-thm.p", "tptp", "Theorem", chain(k, k));
            write("tptp/chain-" + k + "-csa.p", "tptp", "CounterSatisfiable", chain(k, k + 1));
        }
        for (int n : new int[] {3, 4, 5, 6, 7}) {
            write("tptp/pigeons-" + (n + 1) + "-" + n + ".p", "tptp", "Theorem", tptpPigeons(n + 1, n));
        }
        // Two textbook equational theorems: a group in which every element is its own inverse is commutative, and
        // Huntington's axiom implies Robbins' equation (the easy direction of the Robbins problem).
        write("tptp/boolean-group-commutes.p", "tptp", "Theorem", """
                % a group in which x*x = e for every x is commutative: Theorem
                fof(assoc, axiom, ![X,Y,Z]: mult(mult(X,Y),Z) = mult(X,mult(Y,Z))).
                fof(left_identity, axiom, ![X]: mult(e,X) = X).
                fof(left_inverse, axiom, ![X]: mult(inv(X),X) = e).
                fof(squares, axiom, ![X]: mult(X,X) = e).
                fof(goal, conjecture, ![X,Y]: mult(X,Y) = mult(Y,X)).
                """);
        write("tptp/huntington-robbins.p", "tptp", "Theorem", """
                % commutativity, associativity and Huntington's axiom imply Robbins' equation: Theorem
                fof(commutativity, axiom, ![X,Y]: p(X,Y) = p(Y,X)).
                fof(associativity, axiom, ![X,Y,Z]: p(p(X,Y),Z) = p(X,p(Y,Z))).
                fof(huntington, axiom, ![X,Y]: p(n(p(n(X),Y)),n(p(n(X),n(Y)))) = X).
                fof(goal, conjecture, ![X,Y]: n(p(n(p(X,Y)),n(p(X,n(Y))))) = X).
                """);
        Files.write(root.resolve("index.tsv"), index);
        System.out.println("gen-corpus: wrote " + index.size() + " problems to " + root);
    }

    static void write(String file, String family, String status, String text) throws IOException {
        Files.writeString(root.resolve(file), text);
        index.add(file + "\t" + family + "\t" + status);
    }

    static String cnf(int vars, List<int[]> clauses, String comment) {
        StringBuilder b = new StringBuilder("c " + comment + "\np cnf " + vars + " " + clauses.size() + "\n");
        for (int[] c : clauses) {
            for (int l : c) {
                b.append(l).append(' ');
            }
            b.append("0\n");
        }
        return b.toString();
    }

    static String pigeonhole(int pigeons, int holes) {
        List<int[]> cl = new ArrayList<>();
        for (int p = 0; p < pigeons; p++) {
            int[] c = new int[holes];
            for (int h = 0; h < holes; h++) {
                c[h] = p * holes + h + 1;
            }
            cl.add(c);
        }
        for (int h = 0; h < holes; h++) {
            for (int p = 0; p < pigeons; p++) {
                for (int q = p + 1; q < pigeons; q++) {
                    cl.add(new int[] {-(p * holes + h + 1), -(q * holes + h + 1)});
                }
            }
        }
        return cnf(pigeons * holes, cl, "pigeonhole " + pigeons + " into " + holes + ": unsat");
    }

    static String planted3Sat(Random rnd, int vars, int clauses) {
        boolean[] model = new boolean[vars + 1];
        for (int v = 1; v <= vars; v++) {
            model[v] = rnd.nextBoolean();
        }
        List<int[]> cl = new ArrayList<>();
        while (cl.size() < clauses) {
            int[] c = new int[3];
            boolean sat = false;
            for (int i = 0; i < 3; i++) {
                int v = 1 + rnd.nextInt(vars);
                c[i] = rnd.nextBoolean() ? v : -v;
                sat |= (c[i] > 0) == model[v];
            }
            if (sat) {
                cl.add(c);
            }
        }
        return cnf(vars, cl, "random 3-SAT with a planted model, ratio " + (double) clauses / vars + ": sat");
    }

    /** Uniform random 3-SAT: each clause three distinct variables, each negated with probability 1/2. */
    static List<int[]> random3Sat(Random rnd, int vars, int clauses) {
        List<int[]> cl = new ArrayList<>();
        while (cl.size() < clauses) {
            int a = 1 + rnd.nextInt(vars), b = 1 + rnd.nextInt(vars), c = 1 + rnd.nextInt(vars);
            if (a != b && a != c && b != c) {
                cl.add(new int[] {rnd.nextBoolean() ? a : -a, rnd.nextBoolean() ? b : -b, rnd.nextBoolean() ? c : -c});
            }
        }
        return cl;
    }

    /**
     * "sat" or "unsat", certified: each of cadical and minisat is run; a claimed model is checked against the
     * clauses, and unsat is accepted only when both say so. A disagreement or a wrong model stops the generator.
     */
    static String certify(int vars, List<int[]> clauses) throws IOException {
        Path dir = Files.createTempDirectory("gen-corpus");
        try {
            Path in = dir.resolve("in.cnf"), out = dir.resolve("minisat.out");
            Files.writeString(in, cnf(vars, clauses, "to certify"));
            String cadical = solve(List.of("cadical", "-q", in.toString()));
            String minisat = solve(List.of("minisat", "-verb=0", in.toString(), out.toString()));
            List<String> claims = new ArrayList<>();
            if (cadical.contains("s SATISFIABLE")) {
                checkModel(clauses, cadical.lines().filter(l -> l.startsWith("v ")).map(l -> l.substring(2))
                        .reduce("", (x, y) -> x + " " + y), "cadical");
                claims.add("sat");
            } else if (cadical.contains("s UNSATISFIABLE")) {
                claims.add("unsat");
            }
            String m = Files.exists(out) ? Files.readString(out) : "";
            if (m.startsWith("SAT")) {
                checkModel(clauses, m.substring(3), "minisat");
                claims.add("sat");
            } else if (m.startsWith("UNSAT")) {
                claims.add("unsat");
            }
            if (claims.size() != 2 || !claims.get(0).equals(claims.get(1))) {
                throw new IllegalStateException("gen-corpus: cadical and minisat do not agree on a random 3-SAT instance"
                        + " with " + vars + " variables: " + claims);
            }
            return claims.get(0);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    static String solve(List<String> command) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("gen-corpus: certifying random 3-SAT needs " + command.get(0) + " on PATH (Debian: "
                    + "apt-get install cadical minisat): " + e.getMessage(), e);
        }
        p.getOutputStream().close();
        byte[] text = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("gen-corpus: " + command.get(0) + " ran out of 10 minutes");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            throw new IOException("interrupted", e);
        }
        return new String(text, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Fails unless the literals (DIMACS, 0-terminated) satisfy every clause. */
    static void checkModel(List<int[]> clauses, String literals, String solver) {
        java.util.Set<Integer> truth = new java.util.HashSet<>();
        for (String t : literals.trim().split("\\s+")) {
            if (!t.isEmpty()) {
                truth.add(Integer.parseInt(t));
            }
        }
        for (int[] c : clauses) {
            boolean sat = false;
            for (int l : c) {
                sat |= truth.contains(l);
            }
            if (!sat) {
                throw new IllegalStateException("gen-corpus: " + solver + "'s model falsifies clause "
                        + java.util.Arrays.toString(c));
            }
        }
    }

    /** x1 xor ... xor xn = 1 and = 0 at once (unsat), or just one of them (sat), as chained 3-variable xors. */
    static String parity(Random rnd, int n, boolean contradictory) {
        List<int[]> cl = new ArrayList<>();
        int next = n + 1;
        int acc = 1;
        for (int i = 2; i <= n; i++) {
            int t = next++; // t = acc xor xi
            int a = acc, x = i;
            cl.add(new int[] {-t, a, x});
            cl.add(new int[] {-t, -a, -x});
            cl.add(new int[] {t, -a, x});
            cl.add(new int[] {t, a, -x});
            acc = t;
        }
        cl.add(new int[] {acc});
        if (contradictory) {
            // a second, shuffled chain over the same variables that must be 0
            List<Integer> order = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                order.add(i);
            }
            java.util.Collections.shuffle(order, rnd);
            int acc2 = order.get(0);
            for (int i = 1; i < n; i++) {
                int t = next++;
                int a = acc2, x = order.get(i);
                cl.add(new int[] {-t, a, x});
                cl.add(new int[] {-t, -a, -x});
                cl.add(new int[] {t, -a, x});
                cl.add(new int[] {t, a, -x});
                acc2 = t;
            }
            cl.add(new int[] {-acc2});
        }
        return cnf(next - 1, cl, "parity of " + n + " variables" + (contradictory ? " twice, contradictory: unsat"
                : ": sat"));
    }

    static String factor(BigInteger c, int bits) {
        int w = 2 * bits;
        return "; is " + c + " a product of two factors > 1? " + (c.isProbablePrime(50) ? "no: unsat" : "yes: sat")
                + "\n(set-logic QF_BV)\n(declare-fun x () (_ BitVec " + w + "))\n(declare-fun y () (_ BitVec " + w
                + "))\n(assert (bvult x (_ bv" + (BigInteger.ONE.shiftLeft(bits)) + " " + w + ")))\n"
                + "(assert (bvult y (_ bv" + (BigInteger.ONE.shiftLeft(bits)) + " " + w + ")))\n"
                + "(assert (bvugt x (_ bv1 " + w + ")))\n(assert (bvugt y (_ bv1 " + w + ")))\n"
                + "(assert (= (bvmul x y) (_ bv" + c + " " + w + ")))\n(check-sat)\n(exit)\n";
    }

    static String liaPlanted(Random rnd, int n) {
        int[] sol = new int[n];
        StringBuilder b = new StringBuilder("; a linear system with a planted integer solution: sat\n(set-logic QF_LIA)\n");
        for (int i = 0; i < n; i++) {
            sol[i] = rnd.nextInt(201) - 100;
            b.append("(declare-fun x").append(i).append(" () Int)\n");
        }
        for (int r = 0; r < n; r++) {
            StringBuilder sum = new StringBuilder("(+");
            long rhs = 0;
            for (int i = 0; i < n; i++) {
                int a = rnd.nextInt(21) - 10;
                sum.append(" (* ").append(a < 0 ? "(- " + (-a) + ")" : a).append(" x").append(i).append(')');
                rhs += (long) a * sol[i];
            }
            b.append("(assert (= ").append(sum).append(") ").append(rhs < 0 ? "(- " + (-rhs) + ")" : rhs).append("))\n");
        }
        return b.append("(check-sat)\n(exit)\n").toString();
    }

    static String liaPigeon(int n) {
        // n+1 pigeons p_i in [1, n], pairwise distinct: unsat
        StringBuilder b = new StringBuilder("; " + (n + 1) + " distinct integers in [1, " + n + "]: unsat\n(set-logic QF_LIA)\n");
        for (int i = 0; i <= n; i++) {
            b.append("(declare-fun p").append(i).append(" () Int)\n(assert (and (>= p").append(i).append(" 1) (<= p")
                    .append(i).append(' ').append(n).append(")))\n");
        }
        b.append("(assert (distinct");
        for (int i = 0; i <= n; i++) {
            b.append(" p").append(i);
        }
        return b.append("))\n(check-sat)\n(exit)\n").toString();
    }

    static String ufHoles(int pigeons, int holes) {
        StringBuilder b = new StringBuilder("; an injective map from " + pigeons + " pigeons to " + holes + " holes: "
                + (pigeons > holes ? "unsat" : "sat") + "\n(set-logic QF_UF)\n(declare-sort U 0)\n(declare-fun f (U) U)\n");
        for (int p = 0; p < pigeons; p++) {
            b.append("(declare-fun p").append(p).append(" () U)\n");
        }
        for (int h = 0; h < holes; h++) {
            b.append("(declare-fun h").append(h).append(" () U)\n");
        }
        b.append("(assert (distinct");
        for (int p = 0; p < pigeons; p++) {
            b.append(" p").append(p);
        }
        b.append("))\n");
        for (int p = 0; p < pigeons; p++) {
            b.append("(assert (or");
            for (int h = 0; h < holes; h++) {
                b.append(" (= (f p").append(p).append(") h").append(h).append(')');
            }
            b.append("))\n");
        }
        for (int p = 0; p < pigeons; p++) {
            for (int q = p + 1; q < pigeons; q++) {
                b.append("(assert (not (= (f p").append(p).append(") (f p").append(q).append("))))\n");
            }
        }
        return b.append("(check-sat)\n(exit)\n").toString();
    }

    static String chain(int k, int goal) {
        StringBuilder b = new StringBuilder("% p(a) and p(X) => p(s(X)); the conjecture asks for p(s^" + goal
                + "(a)) with only " + k + " axioms of the chain usable: " + (goal <= k ? "Theorem" : "CounterSatisfiable")
                + "\nfof(base, axiom, p0(a)).\n");
        for (int i = 0; i < k; i++) {
            b.append("fof(step").append(i).append(", axiom, ![X]: (p").append(i).append("(X) => p").append(i + 1)
                    .append("(s(X)))).\n");
        }
        String term = "a";
        for (int i = 0; i < goal; i++) {
            term = "s(" + term + ")";
        }
        return b.append("fof(goal, conjecture, p").append(goal).append('(').append(term).append(")).\n").toString();
    }

    static String tptpPigeons(int pigeons, int holes) {
        StringBuilder b = new StringBuilder("% " + pigeons + " pigeons cannot sit in " + holes
                + " holes one to a hole: Theorem\n");
        StringBuilder goal = new StringBuilder();
        for (int p = 0; p < pigeons; p++) {
            b.append("fof(pigeon").append(p).append(", axiom, (");
            for (int h = 0; h < holes; h++) {
                b.append(h > 0 ? " | " : "").append("in(p").append(p).append(",h").append(h).append(')');
            }
            b.append(")).\n");
        }
        for (int h = 0; h < holes; h++) {
            for (int p = 0; p < pigeons; p++) {
                for (int q = p + 1; q < pigeons; q++) {
                    goal.append(goal.length() > 0 ? " | " : "").append("(in(p").append(p).append(",h").append(h)
                            .append(") & in(p").append(q).append(",h").append(h).append("))");
                }
            }
        }
        return b.append("fof(goal, conjecture, ").append(goal).append(").\n").toString();
    }
}
