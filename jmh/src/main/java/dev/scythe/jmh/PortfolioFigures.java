package dev.scythe.jmh;

import dev.scythe.Supervisor;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Provers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The portfolio on the corpus, per problem family: PAR-2 of the best single prover, of the portfolio and of the
 * virtual best solver, from one run of the main job's evaluation (5 s per problem); the quick run takes one problem in
 * four of each family (every fourth in the index, which spans the sizes) with 1 s per problem.
 */
final class PortfolioFigures {
    private PortfolioFigures() {}

    static String section(boolean quick) throws Exception {
        int stride = quick ? 4 : 1;
        Duration timeout = Duration.ofSeconds(quick ? 1 : 5);
        Path corpus = Path.of("corpus");
        List<Provers.Prover> installed = Provers.ALL.stream().filter(Provers.Prover::installed).toList();
        if (!Files.exists(corpus.resolve("index.tsv")) || installed.isEmpty()) {
            return "\n## Portfolio on the corpus\n\nSkipped: no corpus/index.tsv or no prover installed.\n";
        }
        StringBuilder b = new StringBuilder("\n## Portfolio on the corpus\n\nThe main job's evaluation (`scripts/evaluate`, "
                + (quick ? "quick run: one problem in 4 of each family, 1 s per problem" : "5 s per problem")
                + "), per family: PAR-2 in seconds (mean time per problem, an unsolved one counting twice "
                + "the timeout) and problems solved, for the best prover alone, the portfolio (a race of the family's "
                + "provers on 2 cores) and the virtual best solver (per problem the fastest prover alone: the limit).\n\n"
                + "| family | problems | best prover alone | its PAR-2 (solved) | portfolio PAR-2 (solved) | virtual best "
                + "PAR-2 (solved) | portfolio / virtual best |\n|---|---:|---|---:|---:|---:|---:|\n");
        List<Provers.Problem> all = Provers.load(corpus);
        for (String family : List.of("cnf", "smt2", "tptp")) {
            List<Provers.Problem> inFamily = all.stream().filter(p -> p.family().equals(family)).toList();
            List<Provers.Problem> problems = java.util.stream.IntStream.range(0, inFamily.size())
                    .filter(i -> i % stride == 0).mapToObj(inFamily::get).toList();
            List<Provers.Prover> provers = installed.stream().filter(p -> p.family().equals(family)).toList();
            if (problems.isEmpty() || provers.isEmpty()) {
                continue;
            }
            Evaluation ev = new Evaluation(problems, provers, timeout);
            try (Supervisor s = new Supervisor()) {
                ev.run(s, new PrintStream(new ByteArrayOutputStream()));
            }
            Evaluation.Score best = provers.stream().map(p -> ev.score(p.name()))
                    .filter(sc -> sc.problems() == problems.size())
                    .min(java.util.Comparator.comparingDouble(Evaluation.Score::par2)).orElse(ev.score(provers.get(0).name()));
            Evaluation.Score port = ev.score(Evaluation.PORTFOLIO), vbs = ev.score(Evaluation.VBS);
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %.2f (%d) | %.2f (%d) | %.2f (%d) | %.2f |%n", family,
                    problems.size(), best.solver(), best.par2(), best.solved(), port.par2(), port.solved(), vbs.par2(),
                    vbs.solved(), port.par2() / Math.max(0.001, vbs.par2())));
        }
        return b.toString();
    }
}
