package dev.scythe.eval;

import java.util.ArrayList;
import java.util.List;

/** DIMACS problems made on the spot, of known status, for the tests of the evaluation and of the CLI. */
public final class Problems {
    private Problems() {}

    /** The shipped provers of these names; the test is skipped (naming the package) if one is not installed. */
    public static List<Provers.Prover> installed(String... names) {
        List<Provers.Prover> out = new ArrayList<>();
        for (String n : names) {
            Provers.Prover p = Provers.ALL.stream().filter(x -> x.name().equals(n)).findFirst().orElseThrow();
            org.junit.jupiter.api.Assumptions.assumeTrue(p.installed(), n + " is not installed (apt-get install "
                    + p.debianPackage() + ")");
            out.add(p);
        }
        return out;
    }

    /** A random 3-SAT formula with a planted solution (odd variables true, even ones false): satisfiable. */
    public static String planted(int vars, int clauses, long seed) {
        java.util.Random r = new java.util.Random(seed);
        StringBuilder b = new StringBuilder("p cnf " + vars + " " + clauses + "\n");
        for (int c = 0; c < clauses; c++) {
            int[] lits = new int[3];
            boolean sat = false;
            for (int k = 0; k < 3; k++) {
                int v = 1 + r.nextInt(vars);
                lits[k] = r.nextBoolean() ? v : -v;
                sat |= (lits[k] > 0) == (v % 2 == 1);
            }
            if (!sat) {
                lits[0] = -lits[0];
            }
            b.append(lits[0]).append(' ').append(lits[1]).append(' ').append(lits[2]).append(" 0\n");
        }
        return b.toString();
    }

    /** n pigeons into h holes: unsatisfiable when n > h. */
    public static String pigeons(int n, int h) {
        List<String> cls = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            StringBuilder c = new StringBuilder();
            for (int k = 0; k < h; k++) {
                c.append(p * h + k + 1).append(' ');
            }
            cls.add(c + "0");
        }
        for (int k = 0; k < h; k++) {
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    cls.add(-(p * h + k + 1) + " " + -(q * h + k + 1) + " 0");
                }
            }
        }
        return "c pigeons " + n + " into " + h + "\np cnf " + n * h + " " + cls.size() + "\n" + String.join("\n", cls)
                + "\n";
    }
}
