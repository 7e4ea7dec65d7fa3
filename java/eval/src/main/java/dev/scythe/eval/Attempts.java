package dev.scythe.eval;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Prover;
import dev.scythe.eval.Provers.Verdict;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * Where an evaluation's attempts run: this machine's supervisor, one at a time ({@link #local}), or the members of a
 * cluster, as many at once as they have slots (the scythe-cluster module). Either way an attempt runs at most once;
 * one whose machine was lost ends {@link Outcome.MemberLost}, and the evaluation sends it again up to
 * {@link #maxAttempts()} times in all.
 */
public interface Attempts {

    /** How an attempt ended, and where it ran ("" for this machine). */
    record Result(Outcome outcome, String stdout, String where) {}

    /** A portfolio's entrant: the prover and its time limit (its slice). */
    record Entrant(Prover prover, Duration limit) {}

    /** How many attempts may run at once. */
    int parallelism();

    /** How many times one problem's attempt is sent in all when its machine is lost (1: never sent again). */
    default int maxAttempts() {
        return 1;
    }

    /**
     * Runs {@code prover} on {@code problem}; a prover that writes a model has written it to {@code model} on this
     * machine by the time the future completes.
     */
    CompletableFuture<Result> alone(Prover prover, Problem problem, Path model, Duration timeout);

    /**
     * Runs a portfolio on one machine: a race of the entrants (success: a definite answer), at most
     * {@code maxConcurrent} at once, or one after another in {@code mode} SEQUENTIAL. {@code models} gives each
     * entrant's model file on this machine.
     */
    CompletableFuture<RaceResult> portfolio(Problem problem, List<Entrant> entrants, Race.Mode mode, int maxConcurrent,
            Duration timeout, Map<String, Path> models);

    /** Where a portfolio ran, once its future completed ("" for this machine). */
    default String where(RaceResult r) {
        return "";
    }

    /** A regex that matches stdout holding a definite answer of {@code p}. */
    static String definiteAnswer(Prover p) {
        return p.answers().patterns().entrySet().stream().filter(e -> e.getKey() != Verdict.UNKNOWN)
                .map(e -> "(?:" + e.getValue().pattern() + ")").collect(Collectors.joining("|"));
    }

    /** This machine: one attempt at a time under {@code supervisor}, so that wall times are not shared. */
    static Attempts local(Supervisor supervisor) {
        return new Attempts() {
            @Override
            public int parallelism() {
                return 1;
            }

            @Override
            public CompletableFuture<Result> alone(Prover p, Problem problem, Path model, Duration timeout) {
                Job job = supervisor.start(spec(p.commandFor(problem.file(), model), timeout));
                return job.onExit().thenApply(o -> new Result(o, o instanceof Outcome.SpawnFailed ? ""
                        : job.stdout().text(), ""));
            }

            @Override
            public CompletableFuture<RaceResult> portfolio(Problem problem, List<Entrant> entrants, Race.Mode mode,
                    int maxConcurrent, Duration timeout, Map<String, Path> models) {
                Race.Builder race = Race.builder().timeout(timeout).mode(mode).maxConcurrent(maxConcurrent);
                for (Entrant e : entrants) {
                    Prover p = e.prover();
                    race.entrant(p.name(), spec(p.commandFor(problem.file(), models.get(p.name())), e.limit()),
                            SuccessCriterion.matching(f -> p.verdict(f.stdout().text()) != Verdict.UNKNOWN,
                                    "a definite answer"));
                }
                return race.build().start(supervisor);
            }
        };
    }

    /** How every attempt's process is specified: its timeout, and 200 ms from SIGTERM to SIGKILL. */
    static ProcessSpec spec(List<String> command, Duration timeout) {
        return ProcessSpec.builder(command.toArray(String[]::new)).timeout(timeout).grace(GRACE).build();
    }

    /** From SIGTERM to SIGKILL when an attempt is ended. */
    Duration GRACE = Duration.ofMillis(200);
}
