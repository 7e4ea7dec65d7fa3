package dev.scythe.cli;

import dev.scythe.Supervisor;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Provers;
import dev.scythe.eval.Report;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code scythe evaluate}: every prover alone, the portfolio and the virtual best solver over a corpus. */
@Command(name = "evaluate",
        customSynopsis = "scythe evaluate [--corpus DIR] [--timeout D] [--out DIR] [--provers NAME,...]",
        description = {"The main job: every prover, the portfolio and the virtual best over a corpus.", "",
            "Runs every installed prover alone on every corpus problem it takes (DIMACS: minisat, picosat, cadical, "
                    + "cryptominisat; SMT-LIB: z3, cvc5, cvc4, boolector; TPTP: eprover, spass), then the portfolio "
                    + "(a race of them, first definite verdict wins), each under --timeout, and checks every answer "
                    + "against the problem's known status (DIR/index.tsv). Prints per solver: problems, solved, "
                    + "timeouts, crashes, wrong answers and PAR-2, also for the virtual best solver; writes "
                    + "report.html, cactus.png and cactus.svg to --out."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every answer agreed with the known status",
            "1:some prover gave a wrong answer (listed), or no prover is installed",
            "125:a bad option (the message names it), or the corpus or report failed",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: every prover was killed first"},
        footer = Subcommand.DURATIONS)
final class EvaluateCommand extends Subcommand {
    @Option(names = "--corpus", paramLabel = "DIR", converter = PathOptions.Directory.class, description = {
        "the corpus: problems and DIR/index.tsv (default corpus)"})
    private Path corpus = Path.of("corpus");

    @Option(names = "--timeout", paramLabel = "D", converter = Durations.Positive.class, description = {
        "per problem and solver (default 5s; must be positive)"})
    private Duration timeout = Duration.ofSeconds(5);

    @Option(names = "--out", paramLabel = "DIR", converter = PathOptions.Any.class, description = {
        "where the report goes (default evaluation; created if missing)"})
    private Path outDir = Path.of("evaluation");

    @Option(names = "--provers", paramLabel = "NAMES", split = ",", description = {
        "only these provers, separated by commas (or given again)"})
    private Set<String> only;

    EvaluateCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        List<Provers.Prover> provers = new ArrayList<>(), missing = new ArrayList<>();
        for (Provers.Prover p : Provers.ALL) {
            if (only != null && !only.contains(p.name())) {
                continue;
            }
            (p.installed() ? provers : missing).add(p);
        }
        if (only != null) {
            for (String name : only) {
                if (Provers.ALL.stream().noneMatch(p -> p.name().equals(name))) {
                    throw new UsageException("--provers: unknown prover '" + name + "'; known: "
                            + Provers.ALL.stream().map(Provers.Prover::name).toList());
                }
            }
        }
        if (!missing.isEmpty()) {
            err.println("scythe: not installed, going on without them: " + missing.stream().map(p -> p.name() + " (apt "
                    + p.debianPackage() + ")").toList());
        }
        if (provers.isEmpty()) {
            err.println("scythe: no prover installed; try: apt-get install z3 cvc5 minisat cadical eprover spass");
            return 1;
        }
        List<Provers.Problem> problems;
        try {
            problems = Provers.load(corpus);
        } catch (IOException e) {
            err.println("scythe: " + e.getMessage());
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        }
        err.println("scythe: " + problems.size() + " problems from " + corpus + ", provers " + provers.stream()
                .map(Provers.Prover::name).toList() + ", timeout " + Durations.millis(timeout) + " ms");
        Evaluation ev = new Evaluation(problems, provers, timeout);
        try (Supervisor supervisor = new Supervisor()) {
            ev.run(supervisor, err);
            new Report(ev).write(outDir);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        } catch (IOException e) {
            err.println("scythe: cannot write the report: " + e.getMessage());
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        }
        out.print(ev.table());
        long wrong = ev.runs().stream().filter(Evaluation.Run::wrong).count();
        for (Evaluation.Run r : ev.runs()) {
            if (r.wrong()) {
                out.println("WRONG ANSWER: " + r.solver() + " said " + r.verdict() + " on " + r.problem().name()
                        + ", known " + r.problem().status());
            }
        }
        out.println("report: " + outDir.resolve("report.html") + ", plot: " + outDir.resolve("cactus.png") + " and "
                + outDir.resolve("cactus.svg"));
        return wrong > 0 ? 1 : 0;
    }
}
