package dev.scythe.jmh;

import dev.scythe.Supervisor;
import dev.scythe.eval.Corpus;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Provers;
import dev.scythe.eval.ResultsDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The portfolios on the corpus, per problem family, on this machine's cores: the best single prover, Echidna's
 * sequential mode (each prover in turn until one answers), the race of all provers at once, the cores-aware portfolio,
 * the learned schedule (cross-validated: each half of the problems runs the schedule learned on the other half) and
 * the virtual best solver, PAR-2 and problems solved, from one run of the main job (5 s per problem). The quick run
 * takes one problem in four of each family with 1 s per problem.
 */
final class PortfolioFigures {
    private PortfolioFigures() {}

    static String section(boolean quick) throws Exception {
        int stride = quick ? 4 : 1;
        Duration timeout = Duration.ofSeconds(quick ? 1 : 5);
        Path corpus = Path.of("corpus");
        List<Provers.Prover> installed = Provers.ALL.stream().filter(Provers.Prover::installed).toList();
        if (!Files.isDirectory(corpus) || installed.isEmpty()) {
            return "\n## Portfolio on the corpus\n\nSkipped: no corpus/ or no prover installed.\n";
        }
        List<Provers.Problem> all = Corpus.scan(corpus), problems = new ArrayList<>();
        for (String family : Provers.FAMILIES) {
            List<Provers.Problem> in = all.stream().filter(p -> p.family().equals(family)).toList();
            for (int i = 0; i < in.size(); i += stride) {
                problems.add(in.get(i));
            }
        }
        int cores = Runtime.getRuntime().availableProcessors();
        Evaluation ev = new Evaluation(problems, installed, new Evaluation.Settings(timeout, cores,
                List.of(Evaluation.Policy.SEQUENTIAL, Evaluation.Policy.RACE_ALL, Evaluation.Policy.CORES,
                        Evaluation.Policy.LEARNED), null));
        Path dir = Files.createTempDirectory("scythe-portfolio-figures");
        try (Supervisor s = new Supervisor(); ResultsDatabase db = ResultsDatabase.open(dir.resolve("results.db"))) {
            ev.run(s, db, (done, total, what) -> { });
        }
        // The learned portfolio again, cross-validated leave-one-out, on a copy of the results without its runs
        Files.copy(dir.resolve("results.db"), dir.resolve("loo.db"));
        Evaluation loo = new Evaluation(problems, installed, new Evaluation.Settings(timeout, cores,
                List.of(Evaluation.Policy.LEARNED), null, Evaluation.CrossValidation.LEAVE_ONE_OUT));
        try (Supervisor s = new Supervisor(); ResultsDatabase db = ResultsDatabase.open(dir.resolve("loo.db"))) {
            db.deleteRuns(Evaluation.LEARNED);
            loo.run(s, db, (done, total, what) -> { });
        }
        StringBuilder b = new StringBuilder("\n## Portfolio on the corpus\n\nThe main job (`scythe evaluate corpus "
                + "--portfolio sequential,race,cores,learned`, " + (quick ? "quick run: one problem in 4 of each "
                + "family, 1 s per problem" : timeout.toSeconds() + " s per problem") + ", " + cores + " cores), per "
                + "family: PAR-2 in seconds (mean time per problem, an unsolved one counting twice the timeout) and, "
                + "in brackets, problems solved. Sequential: each prover in turn until one answers, within the "
                + "timeout (Echidna's sequential mode). Race: every prover at once. Cores: at most " + cores
                + " at once, the rest waiting. Learned: per family a learned order, time slices and number of entrants "
                + "at once (more than the cores where specialists pay for sharing them), learned from the provers-alone "
                + "results and cross-validated two ways: in halves (each half of the problems, alternating in id order "
                + "per family, runs the schedule learned on the other half) and leave-one-out (each problem runs the "
                + "schedule learned on all the others). Virtual best: per problem the fastest prover alone (the "
                + "limit).\n\n"
                + "| family | problems | best prover alone | sequential | race | cores | learned, halves | learned, "
                + "leave-one-out | virtual best | race speed-up over sequential | learned / best alone (halves, "
                + "leave-one-out) | learned / virtual best (halves, leave-one-out) |\n"
                + "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<String> scopes = new ArrayList<>(ev.families());
        scopes.add(null);
        for (String family : scopes) {
            Evaluation.Score best = ev.solvers().stream().filter(ev::isProver).map(s -> ev.score(s, family))
                    .filter(sc -> sc.problems() > 0 && sc.problems() == ev.score(Evaluation.VBS, family).problems())
                    .min(Comparator.comparingDouble(Evaluation.Score::par2)).orElse(null);
            Evaluation.Score seq = ev.score(Evaluation.SEQUENTIAL, family), race = ev.score(Evaluation.RACE, family),
                    cores2 = ev.score(Evaluation.PORTFOLIO, family), learned = ev.score(Evaluation.LEARNED, family),
                    learnedLoo = loo.score(Evaluation.LEARNED, family), vbs = ev.score(Evaluation.VBS, family);
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %.2fx | %s | %.2f, "
                    + "%.2f |%n", family == null ? "**all**" : family, vbs.problems(),
                    best == null ? "(none takes all)" : best.solver() + " " + cell(best), cell(seq), cell(race),
                    cell(cores2), cell(learned), cell(learnedLoo), cell(vbs), seq.par2() / Math.max(0.001, race.par2()),
                    best == null ? "-" : String.format(Locale.ROOT, "%.2f, %.2f", learned.par2() / Math.max(0.001,
                            best.par2()), learnedLoo.par2() / Math.max(0.001, best.par2())),
                    learned.par2() / Math.max(0.001, vbs.par2()), learnedLoo.par2() / Math.max(0.001, vbs.par2())));
        }
        b.append("\nThe schedules the learned portfolio ran (per family: `* K` when K entrants run at once instead of "
                + cores + "; each prover, then its slice in seconds, or `rest`: until the timeout):\n\n");
        loo.schedulesUsed().forEach(ev.schedulesUsed()::put);
        ev.schedulesUsed().forEach((half, s) -> b.append("- ").append(half).append(": ").append(s.toText().lines()
                .filter(l -> !l.startsWith("#")).map(l -> l.replace('\t', ' ')).reduce((x, y) -> x + "; " + y)
                .orElse("(empty)")).append('\n'));
        for (String f : List.of("results.db", "results.db-wal", "results.db-shm", "loo.db", "loo.db-wal", "loo.db-shm")) {
            Files.deleteIfExists(dir.resolve(f));
        }
        Files.deleteIfExists(dir);
        return b.toString();
    }

    private static String cell(Evaluation.Score s) {
        return String.format(Locale.ROOT, "%.2f (%d)", s.par2(), s.solved());
    }
}
