package dev.scythe.cluster;

import com.hazelcast.cluster.Member;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.eval.Attempts;
import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Prover;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * An evaluation's attempts on a cluster's members: each problem's file travels with its attempt (members share no
 * filesystem), the prover runs under the member's supervisor, and its stdout and model come back. Attempts go to
 * the member with the most free slots, as many at once as the cluster has slots; a portfolio takes as many slots as
 * it has cores. An attempt whose member is lost is sent again by the evaluation, {@link #maxAttempts()} times in all.
 */
public final class ClusterAttempts implements Attempts {
    /** The default limit of attempts per problem and solver when members are lost. */
    public static final int MAX_ATTEMPTS = 3;

    private final Farm farm;
    private final int maxAttempts;
    private final int cores;
    private final Map<RaceResult, String> where = java.util.Collections.synchronizedMap(new IdentityHashMap<>());

    /**
     * @param cores       the cores a portfolio takes on its member (the evaluation's {@code --cores})
     * @param maxAttempts how many times an attempt lost with its member is sent in all
     */
    public ClusterAttempts(Farm farm, int cores, int maxAttempts) {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("max attempts must be >= 1, got " + maxAttempts);
        }
        this.farm = farm;
        this.cores = cores;
        this.maxAttempts = maxAttempts;
    }

    @Override
    public int parallelism() {
        return Math.max(1, farm.slots());
    }

    @Override
    public int maxAttempts() {
        return maxAttempts;
    }

    @Override
    public CompletableFuture<Result> alone(Prover p, Problem problem, Path model, Duration timeout) {
        String name = problem.file().getFileName().toString();
        String keep = p.writesModelFile() ? "model" : null;
        RemoteJob job = new RemoteJob(p.commandFor(Path.of(RemoteJob.DIR, name), keep == null ? null
                : Path.of(RemoteJob.DIR, keep)), Map.of(name, read(problem.file())), timeout.toMillis(),
                Attempts.GRACE.toMillis(), keep, RemoteJob.Success.EXIT_ZERO);
        CompletableFuture<RemoteResult> sent;
        try {
            sent = farm.run(job);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(e);
        } catch (IllegalStateException noMember) { // every member is gone: the run stops, and --resume goes on
            return CompletableFuture.failedFuture(new IOException(noMember.getMessage(), noMember));
        }
        return sent.thenApply(r -> {
            keep(r, model);
            return new Result(r.toOutcome(), r.stdout(), r.member());
        });
    }

    @Override
    public CompletableFuture<RaceResult> portfolio(Problem problem, List<Entrant> entrants, Race.Mode mode,
            int maxConcurrent, Duration timeout, Map<String, Path> models) {
        String name = problem.file().getFileName().toString();
        List<String> names = new ArrayList<>();
        List<RemoteJob> jobs = new ArrayList<>();
        for (int i = 0; i < entrants.size(); i++) {
            Prover p = entrants.get(i).prover();
            String keep = p.writesModelFile() ? "model-" + i : null;
            names.add(p.name());
            jobs.add(new RemoteJob(p.commandFor(Path.of(RemoteJob.DIR, name), keep == null ? null
                    : Path.of(RemoteJob.DIR, keep)), Map.of(), entrants.get(i).limit().toMillis(),
                    Attempts.GRACE.toMillis(), keep, RemoteJob.Success.stdoutMatches(Attempts.definiteAnswer(p))));
        }
        PortfolioTask task = new PortfolioTask("portfolio-" + UUID.randomUUID(), farm.self(), names, jobs,
                Map.of(name, read(problem.file())), mode, maxConcurrent, timeout.toMillis());
        Member m;
        int taken = Math.min(cores, entrants.size());
        try {
            m = farm.placeWhenFree(taken);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(e);
        } catch (IllegalStateException noMember) {
            return CompletableFuture.failedFuture(new IOException(noMember.getMessage(), noMember));
        }
        return farm.submit(task, m).result().whenComplete((r, e) -> farm.release(m, taken)).thenApply(r -> {
            List<RaceResult.Entry> entries = new ArrayList<>();
            for (int i = 0; i < r.entrants().size(); i++) {
                RemoteResult x = r.entrants().get(i);
                keep(x, models.get(names.get(i)));
                entries.add(new RaceResult.Entry(i, names.get(i), x.toOutcome(), x.succeeded(), x.run()));
            }
            RaceResult race = new RaceResult(mode, r.winner() >= 0 ? Optional.of(entries.get(r.winner()))
                    : Optional.empty(), entries, Duration.ofNanos(r.wallNanos()), r.timedOut(), false,
                    java.util.OptionalLong.empty());
            where.put(race, r.member());
            return race;
        });
    }

    @Override
    public String where(RaceResult r) {
        String w = where.remove(r);
        return w == null ? "" : w;
    }

    private static void keep(RemoteResult r, Path model) {
        if (r.kept() != null && model != null) {
            try {
                Files.write(model, r.kept());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the model to " + model + ": " + e.getMessage(), e);
            }
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read problem " + file + ": " + e.getMessage(), e);
        }
    }
}
