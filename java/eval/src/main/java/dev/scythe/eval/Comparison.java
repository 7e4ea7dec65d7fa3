package dev.scythe.eval;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Two evaluations side by side ({@code scythe compare A B}): per solver both have, problems solved and PAR-2, overall
 * and per family, and the problems one solves and the other does not. Problems are matched by id (their path relative
 * to the corpus); PAR-2 is taken over the problems both ran, so that two corpora that overlap compare fairly.
 */
public final class Comparison {
    /** One solver's figures in A and in B, over the problems of {@code family} (null: all) both ran. */
    public record Line(String solver, String family, int problems, int solvedA, int solvedB, double par2A,
            double par2B) {}

    /** The problems {@code solver} solves in A only and in B only. */
    public record Difference(String solver, List<String> onlyA, List<String> onlyB) {}

    private final Evaluation a, b;

    public Comparison(Evaluation a, Evaluation b) {
        this.a = a;
        this.b = b;
    }

    /** The solvers both evaluations have, in A's order. */
    public List<String> solvers() {
        List<String> out = new ArrayList<>(a.solvers());
        out.retainAll(b.solvers());
        return out;
    }

    private Set<String> common(String solver, String family) {
        Set<String> ids = new TreeSet<>();
        a.runsOf(solver).stream().filter(r -> family == null || r.problem().family().equals(family))
                .forEach(r -> ids.add(r.problem().id()));
        Set<String> inB = new TreeSet<>();
        b.runsOf(solver).forEach(r -> inB.add(r.problem().id()));
        ids.retainAll(inB);
        return ids;
    }

    private static double[] figures(Evaluation e, String solver, Set<String> ids) {
        double t = e.timeout().toNanos() / 1e9, solved = 0, par2 = 0;
        for (Evaluation.Run r : e.runsOf(solver)) {
            if (ids.contains(r.problem().id())) {
                solved += r.solved() ? 1 : 0;
                par2 += r.solved() ? r.seconds() : 2 * t;
            }
        }
        return new double[] {solved, ids.isEmpty() ? 0 : par2 / ids.size()};
    }

    public List<Line> lines() {
        List<Line> out = new ArrayList<>();
        Set<String> families = new LinkedHashSet<>(a.families());
        families.retainAll(b.families());
        for (String s : solvers()) {
            List<String> scopes = new ArrayList<>();
            scopes.add(null);
            scopes.addAll(families);
            for (String f : scopes) {
                Set<String> ids = common(s, f);
                if (ids.isEmpty()) {
                    continue;
                }
                double[] fa = figures(a, s, ids), fb = figures(b, s, ids);
                out.add(new Line(s, f, ids.size(), (int) fa[0], (int) fb[0], fa[1], fb[1]));
            }
        }
        return out;
    }

    public List<Difference> differences() {
        List<Difference> out = new ArrayList<>();
        for (String s : solvers()) {
            Set<String> ids = common(s, null), sa = solved(a, s), sb = solved(b, s);
            List<String> onlyA = ids.stream().filter(i -> sa.contains(i) && !sb.contains(i)).toList();
            List<String> onlyB = ids.stream().filter(i -> sb.contains(i) && !sa.contains(i)).toList();
            if (!onlyA.isEmpty() || !onlyB.isEmpty()) {
                out.add(new Difference(s, onlyA, onlyB));
            }
        }
        return out;
    }

    private static Set<String> solved(Evaluation e, String solver) {
        Set<String> out = new TreeSet<>();
        e.runsOf(solver).stream().filter(Evaluation.Run::solved).forEach(r -> out.add(r.problem().id()));
        return out;
    }

    /** The comparison as text: the table, then the differences. */
    public String text(String nameA, String nameB) {
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, "A: %s%nB: %s%n%n", nameA, nameB));
        t.append(String.format(Locale.ROOT, "%-14s %-7s %8s %8s %8s %10s %10s %8s%n", "solver", "family", "problems",
                "solved A", "solved B", "PAR-2 A s", "PAR-2 B s", "B / A"));
        for (Line l : lines()) {
            t.append(String.format(Locale.ROOT, "%-14s %-7s %8d %8d %8d %10.2f %10.2f %8s%n", l.solver(),
                    l.family() == null ? "all" : l.family(), l.problems(), l.solvedA(), l.solvedB(), l.par2A(),
                    l.par2B(), l.par2A() == 0 ? "-" : String.format(Locale.ROOT, "%.2f", l.par2B() / l.par2A())));
        }
        List<Difference> d = differences();
        t.append(d.isEmpty() ? "\nEvery solver solves the same problems in A and in B.\n" : "\n");
        for (Difference x : d) {
            if (!x.onlyA().isEmpty()) {
                t.append(x.solver()).append(" solves in A only: ").append(String.join(", ", x.onlyA())).append('\n');
            }
            if (!x.onlyB().isEmpty()) {
                t.append(x.solver()).append(" solves in B only: ").append(String.join(", ", x.onlyB())).append('\n');
            }
        }
        return t.toString();
    }
}
