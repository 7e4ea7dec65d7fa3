package dev.scythe.eval;

import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Prover;
import dev.scythe.eval.Provers.Verdict;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs every installed prover alone on every problem it takes, then the portfolio (a FIRST_SUCCESS race of those
 * provers, success = a definite verdict), each with a per-problem timeout, and checks every answer against the
 * problem's known status. A wrong answer is counted as wrong, never as solved.
 */
public final class Evaluation {
    public static final String PORTFOLIO = "portfolio", VBS = "virtual best";

    /**
     * One attempt: who, on what, what it said, whether that was right, how long it took (wall seconds), and whether
     * it was cut off by the timeout or crashed (killed by a signal it did not get from Scythe, e.g. an abort).
     */
    public record Run(String solver, Problem problem, Verdict verdict, double seconds, boolean timedOut,
            boolean crashed) {
        public boolean solved() {
            return verdict == problem.status();
        }

        public boolean wrong() {
            return verdict != Verdict.UNKNOWN && verdict != problem.status();
        }
    }

    /** Per solver: solved, timeouts, crashes, wrong answers, PAR-2 (mean of the time when solved, else 2 x timeout). */
    public record Score(String solver, int problems, int solved, int timeouts, int crashed, int wrong, double par2) {}

    private final List<Problem> problems;
    private final List<Prover> provers;
    private final Duration timeout;
    private final List<Run> runs = new ArrayList<>();

    public Evaluation(List<Problem> problems, List<Prover> provers, Duration timeout) {
        this.problems = List.copyOf(problems);
        this.provers = List.copyOf(provers);
        this.timeout = timeout;
    }

    /** Results recorded elsewhere (tests build them in memory), for a table and a report without running anything. */
    Evaluation(List<Problem> problems, List<Prover> provers, Duration timeout, List<Run> runs) {
        this(problems, provers, timeout);
        this.runs.addAll(runs);
    }

    public List<Run> runs() {
        return runs;
    }

    public Duration timeout() {
        return timeout;
    }

    private static ProcessSpec spec(Prover p, Problem problem, Duration timeout) {
        return ProcessSpec.builder(p.commandFor(problem.file()).toArray(String[]::new)).timeout(timeout)
                .grace(Duration.ofMillis(200)).build();
    }

    /** Runs everything; progress goes to {@code progress} as a bar. */
    public void run(Supervisor supervisor, PrintStream progress) throws IOException, InterruptedException {
        List<Map.Entry<Problem, List<Prover>>> work = new ArrayList<>();
        int total = 0;
        for (Problem problem : problems) {
            List<Prover> takers = new ArrayList<>();
            for (Prover p : provers) {
                if (p.accepts(problem)) {
                    takers.add(p);
                }
            }
            work.add(Map.entry(problem, takers));
            total += takers.size() + (takers.isEmpty() ? 0 : 1);
        }
        int done = 0;
        for (var w : work) {
            Problem problem = w.getKey();
            for (Prover p : w.getValue()) {
                bar(progress, done++, total, p.name() + " on " + problem.name());
                var job = supervisor.start(spec(p, problem, timeout));
                Outcome o = job.await();
                Verdict v = o instanceof Outcome.SpawnFailed ? Verdict.UNKNOWN : p.verdict(job.stdout());
                runs.add(new Run(p.name(), problem, v, seconds(o), o instanceof Outcome.TimedOut,
                        o instanceof Outcome.Crashed));
            }
            if (w.getValue().isEmpty()) {
                continue;
            }
            bar(progress, done++, total, PORTFOLIO + " on " + problem.name());
            Race.Builder race = Race.builder().timeout(timeout).success(SuccessCriterion.matching(
                    f -> Provers.verdict(problem.family(), f.stdout().text()) != Verdict.UNKNOWN, "a definite verdict"));
            for (Prover p : w.getValue()) {
                race.entrant(p.name(), spec(p, problem, timeout));
            }
            RaceResult r = race.build().run(supervisor);
            Verdict v = r.winner().map(e -> Provers.verdict(problem.family(), e.stdout().text())).orElse(Verdict.UNKNOWN);
            double secs = r.winner().flatMap(RaceResult.Entry::run).map(won -> (won.exitNanos()
                    - r.entrants().stream().flatMap(x -> x.run().stream()).mapToLong(RaceResult.Run::startNanos)
                            .min().orElse(won.startNanos())) / 1e9)
                    .orElse(r.wall().toNanos() / 1e9);
            runs.add(new Run(PORTFOLIO, problem, v, secs, r.timedOut(), false));
        }
        bar(progress, total, total, "done");
        progress.println();
    }

    private static double seconds(Outcome o) {
        return o.usage().wall().toNanos() / 1e9;
    }

    private static void bar(PrintStream out, int done, int total, String what) {
        int width = 30, filled = total == 0 ? width : done * width / total;
        out.printf(Locale.ROOT, "\r[%s%s] %d/%d %-50.50s", "#".repeat(filled), " ".repeat(width - filled), done, total,
                what);
        out.flush();
    }

    /** Solvers in table order: provers, the portfolio, the virtual best solver. */
    public List<String> solvers() {
        List<String> names = new ArrayList<>(provers.stream().map(Prover::name).toList());
        names.add(PORTFOLIO);
        names.add(VBS);
        return names;
    }

    /** Runs of one solver; for the virtual best, per problem the fastest correct run of any prover alone. */
    public List<Run> runsOf(String solver) {
        if (!solver.equals(VBS)) {
            return runs.stream().filter(r -> r.solver().equals(solver)).toList();
        }
        Map<Problem, Run> best = new LinkedHashMap<>();
        for (Run r : runs) {
            if (r.solver().equals(PORTFOLIO)) {
                continue;
            }
            Run b = best.get(r.problem());
            boolean better = b == null || (r.solved() && (!b.solved() || r.seconds() < b.seconds()));
            if (better) {
                best.put(r.problem(), new Run(VBS, r.problem(), r.solved() ? r.verdict() : Verdict.UNKNOWN, r.seconds(),
                        !r.solved(), false));
            }
        }
        return List.copyOf(best.values());
    }

    public Score score(String solver) {
        List<Run> rs = runsOf(solver);
        double t = timeout.toNanos() / 1e9, par2 = 0;
        int solved = 0, timeouts = 0, crashed = 0, wrong = 0;
        for (Run r : rs) {
            solved += r.solved() ? 1 : 0;
            timeouts += r.timedOut() && !r.solved() ? 1 : 0;
            crashed += r.crashed() ? 1 : 0;
            wrong += r.wrong() ? 1 : 0;
            par2 += r.solved() ? r.seconds() : 2 * t;
        }
        return new Score(solver, rs.size(), solved, timeouts, crashed, wrong, rs.isEmpty() ? 0 : par2 / rs.size());
    }

    /** The results table, as text. */
    public String table() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-14s %8s %7s %9s %8s %6s %9s%n", "solver",
                "problems", "solved", "timeouts", "crashed", "wrong", "PAR-2 s"));
        for (String s : solvers()) {
            Score sc = score(s);
            b.append(String.format(Locale.ROOT, "%-14s %8d %7d %9d %8d %6d %9.2f%n", s, sc.problems(),
                    sc.solved(), sc.timeouts(), sc.crashed(), sc.wrong(), sc.par2()));
        }
        return b.toString();
    }
}
