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

/** {@code scythe evaluate}: every prover alone, the portfolio and the virtual best solver over a corpus. */
final class EvaluateCommand {
    private EvaluateCommand() {}

    static int run(List<String> args, PrintStream out, PrintStream err) {
        Path corpus = Path.of("corpus"), outDir = Path.of("evaluation");
        Duration timeout = Duration.ofSeconds(5);
        Set<String> only = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--corpus" -> corpus = Path.of(ProbeOptions.value(args, ++i, a));
                case "--out" -> outDir = Path.of(ProbeOptions.value(args, ++i, a));
                case "--timeout" -> timeout = Durations.parse(ProbeOptions.value(args, ++i, a));
                case "--provers" -> only = Set.of(ProbeOptions.value(args, ++i, a).split(","));
                default -> throw new IllegalArgumentException("unknown option '" + a + "' for evaluate");
            }
        }
        if (timeout.isZero()) {
            throw new IllegalArgumentException("--timeout must be positive");
        }
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
                    throw new IllegalArgumentException("unknown prover '" + name + "'; known: "
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
            return Main.EXIT_INTERNAL;
        }
        err.println("scythe: " + problems.size() + " problems from " + corpus + ", provers " + provers.stream()
                .map(Provers.Prover::name).toList() + ", timeout " + Durations.millis(timeout) + " ms");
        Evaluation ev = new Evaluation(problems, provers, timeout);
        try (Supervisor supervisor = new Supervisor()) {
            ev.run(supervisor, err);
            new Report(ev).write(outDir);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_INTERNAL;
        } catch (IOException e) {
            err.println("scythe: cannot write the report: " + e.getMessage());
            return Main.EXIT_INTERNAL;
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
