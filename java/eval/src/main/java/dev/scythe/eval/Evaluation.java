package dev.scythe.eval;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import dev.scythe.eval.Certificates.Check;
import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Prover;
import dev.scythe.eval.Provers.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The main job: every prover alone on every problem it takes, then the portfolios (races of those provers, success =
 * a definite answer), each with a per-problem timeout. Every attempt is written to a {@link ResultsDatabase} as it
 * starts and as it ends, so a stopped run resumes where it stopped, and every figure is computed from what the
 * database holds.
 *
 * <p>Answers are judged against the problem's stated status where it has one; otherwise against each other: a
 * checked model (a DIMACS assignment, an SMT model) settles a satisfiable answer, and two provers that disagree make
 * the problem a conflict, counted as solved by nobody. A wrong answer is never counted as solved.
 */
public final class Evaluation {
    /** Solver names of the portfolios and of the virtual best solver. */
    public static final String PORTFOLIO = "portfolio", RACE = "race", SEQUENTIAL = "sequential",
            LEARNED = "learned", VBS = "virtual best";

    /** How a portfolio runs its entrants. */
    public enum Policy {
        /** At most as many entrants at once as there are cores, in definition order; the rest start as others end. */
        CORES(PORTFOLIO, "cores"),
        /** Every entrant at once (the race before issue 16), however few the cores. */
        RACE_ALL(RACE, "race"),
        /** One entrant after another until one answers, in definition order (Echidna's sequential mode). */
        SEQUENTIAL(Evaluation.SEQUENTIAL, "sequential"),
        /** A learned schedule: order and time slices from earlier results, at most as many at once as cores. */
        LEARNED(Evaluation.LEARNED, "learned");

        public final String solver, option;

        Policy(String solver, String option) {
            this.solver = solver;
            this.option = option;
        }

        /** The policy an option value names (cores, race, sequential, learned). */
        public static Policy of(String option) {
            for (Policy p : values()) {
                if (p.option.equals(option)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("unknown portfolio '" + option + "' (known: cores, race, sequential, "
                    + "learned)");
        }
    }

    /**
     * One attempt, judged: who, on what, what it said, how long it took (wall seconds, CPU seconds, peak memory),
     * whether it was cut off by the timeout or crashed (killed by a signal Scythe did not send), its certificate's
     * check, the problem's truth as judged from everything known ({@link Verdict#UNKNOWN} when nothing settles it),
     * whether the problem's answers conflict, and a detail (a portfolio's winner).
     */
    public record Run(String solver, Problem problem, Verdict verdict, double seconds, boolean timedOut,
            boolean crashed, Check.Kind certificate, Verdict truth, boolean conflict, double cpu, long memoryKib,
            String detail) {
        /** A run judged by the problem's stated status alone. */
        public Run(String solver, Problem problem, Verdict verdict, double seconds, boolean timedOut, boolean crashed) {
            this(solver, problem, verdict, seconds, timedOut, crashed, Check.Kind.ABSENT, problem.status(), false, 0,
                    -1, "");
        }

        public boolean solved() {
            return !conflict && verdict != Verdict.UNKNOWN && verdict == truth && certificate != Check.Kind.REFUTED;
        }

        /** A definite answer that contradicts the truth, or whose certificate does not hold. */
        public boolean wrong() {
            return verdict != Verdict.UNKNOWN && (certificate == Check.Kind.REFUTED
                    || (truth != Verdict.UNKNOWN && verdict != truth));
        }

        /** A definite answer on a problem whose answers disagree, with nothing to settle which is right. */
        public boolean conflicting() {
            return conflict && verdict != Verdict.UNKNOWN && !wrong();
        }

        Run judged(Verdict truth, boolean conflict) {
            return new Run(solver, problem, verdict, seconds, timedOut, crashed, certificate, truth, conflict, cpu,
                    memoryKib, detail);
        }
    }

    /** Per solver: solved, timeouts, crashes, wrong answers, conflicts, PAR-2 (solved: its time; else 2 x timeout). */
    public record Score(String solver, int problems, int solved, int timeouts, int crashed, int wrong, int conflicts,
            double par2) {}

    /** A problem whose answers disagree: per answer, who gave it. */
    public record Conflict(Problem problem, Map<Verdict, List<String>> answers) {}

    /** What a run is told as it goes. */
    public interface Listener {
        /** Attempt {@code done + 1} of {@code total} starts. */
        void starting(int done, int total, String what);

        /** An attempt ended. */
        default void finished(Run run) {}
    }

    /** How a schedule learned from this run's own results is kept from judging the problems it learned on. */
    public enum CrossValidation {
        /** Two halves per family (alternating in id order); each half runs the schedule learned on the other. */
        HALVES,
        /** Each problem runs the schedule learned on every other problem. */
        LEAVE_ONE_OUT
    }

    /**
     * How the portfolios run. {@code schedule} null: learn one from this run's results, cross-validated as
     * {@code crossValidation} says.
     */
    public record Settings(Duration timeout, int cores, List<Policy> portfolios, Schedule schedule,
            CrossValidation crossValidation) {
        public Settings {
            if (cores < 1) {
                throw new IllegalArgumentException("cores must be >= 1, got " + cores);
            }
            portfolios = List.copyOf(portfolios);
        }

        /** Cross-validated in halves. */
        public Settings(Duration timeout, int cores, List<Policy> portfolios, Schedule schedule) {
            this(timeout, cores, portfolios, schedule, CrossValidation.HALVES);
        }

        /** The cores-aware portfolio alone, on this machine's cores. */
        public static Settings of(Duration timeout) {
            return new Settings(timeout, Runtime.getRuntime().availableProcessors(), List.of(Policy.CORES), null);
        }
    }

    private final List<Problem> problems;
    private final List<Prover> provers;
    private final List<String> proverNames;
    private final Settings settings;
    private final List<Run> raw = new ArrayList<>();
    private List<Run> judged;
    private final Map<String, Schedule> schedulesUsed = new LinkedHashMap<>();

    public Evaluation(List<Problem> problems, List<Prover> provers, Settings settings) {
        this.problems = List.copyOf(problems);
        this.provers = List.copyOf(provers);
        this.proverNames = provers.stream().map(Prover::name).toList();
        this.settings = settings;
    }

    public Evaluation(List<Problem> problems, List<Prover> provers, Duration timeout) {
        this(problems, provers, Settings.of(timeout));
    }

    /** Results recorded elsewhere (tests build them in memory), for a table and a report without running anything. */
    Evaluation(List<Problem> problems, List<Prover> provers, Duration timeout, List<Run> runs) {
        this(problems, provers, timeout);
        this.raw.addAll(runs);
    }

    private Evaluation(List<Problem> problems, List<String> proverNames, Settings settings, List<Run> runs) {
        this.problems = List.copyOf(problems);
        this.provers = List.of();
        this.proverNames = List.copyOf(proverNames);
        this.settings = settings;
        this.raw.addAll(runs);
    }

    /** Every attempt judged, in the order they ran. */
    public synchronized List<Run> runs() {
        if (judged == null) {
            judged = judge(raw);
        }
        return judged;
    }

    public Duration timeout() {
        return settings.timeout();
    }

    public Settings settings() {
        return settings;
    }

    public List<Problem> problems() {
        return problems;
    }

    /** The schedules the learned portfolio used, by the half of the problems they ran on ("all" without halves). */
    public Map<String, Schedule> schedulesUsed() {
        return schedulesUsed;
    }

    /** The results in a database, for a report, a comparison or an export without running anything. */
    public static Evaluation fromDatabase(ResultsDatabase db) throws IOException {
        try {
            Duration timeout = Duration.ofMillis(Long.parseLong(db.meta("timeout_ms").orElseThrow(() ->
                    new IOException(db.file() + " holds no finished setup (no timeout recorded)"))));
            int cores = Integer.parseInt(db.meta("cores").orElse("1"));
            List<Policy> policies = splitList(db.meta("portfolios").orElse("")).stream().map(Policy::of).toList();
            List<String> names = splitList(db.meta("provers").orElse(""));
            Map<String, Problem> byId = new LinkedHashMap<>();
            db.problems().forEach(p -> byId.put(p.id(), p));
            List<Run> runs = new ArrayList<>();
            List<ResultsDatabase.Row> rows = db.rows();
            int maxAttempts = Integer.parseInt(db.meta(MAX_ATTEMPTS).orElse("1"));
            Map<String, Integer> lost = new HashMap<>(), latest = new HashMap<>();
            rows.stream().filter(r -> r.outcome().equals(MEMBER_LOST))
                    .forEach(r -> lost.merge(r.problem() + "\0" + r.solver(), 1, Integer::sum));
            rows.forEach(r -> latest.merge(r.problem() + "\0" + r.solver(), r.attempt(), Math::max));
            for (ResultsDatabase.Row r : rows) {
                Problem p = byId.get(r.problem());
                if (p == null || r.outcome().equals(ResultsDatabase.RUNNING)
                        || r.outcome().equals(ResultsDatabase.INTERRUPTED)) {
                    continue;
                }
                // an attempt lost with its machine is no answer; it stands as the result only once the limit of
                // attempts was spent on lost machines (a run stopped before it sent one again sends it on resume)
                String key = r.problem() + "\0" + r.solver();
                if (r.outcome().equals(MEMBER_LOST) && (lost.get(key) < maxAttempts || latest.get(key) != r.attempt())) {
                    continue;
                }
                runs.add(new Run(r.solver(), p, r.answer(), r.wall(), r.outcome().equals(TIMED_OUT),
                        r.outcome().equals(CRASHED), r.certificate(), p.status(), false, r.cpu(), r.memoryKib(),
                        r.detail()));
            }
            return new Evaluation(List.copyOf(byId.values()), names, new Settings(timeout, cores, policies, null),
                    runs);
        } catch (SQLException | IllegalArgumentException e) {
            throw new IOException("cannot read the results in " + db.file() + ": " + e.getMessage(), e);
        }
    }

    private static List<String> splitList(String s) {
        return s.isEmpty() ? List.of() : List.of(s.split(","));
    }

    /** Outcomes as the database keeps them: {@link Outcome#kind()}, and for a portfolio won or no_answer. */
    static final String TIMED_OUT = "timed_out", CRASHED = "crashed", WON = "won", NO_ANSWER = "no_answer",
            MEMBER_LOST = "member_lost";

    /** The meta key that says how many times an attempt lost with its machine is sent in all. */
    static final String MAX_ATTEMPTS = "max_attempts";

    /**
     * Runs what the database does not hold yet: every prover alone on every problem it takes, then each portfolio
     * on every problem. Resuming means calling this again on the same database.
     */
    public void run(Supervisor supervisor, ResultsDatabase db, Listener listener)
            throws IOException, InterruptedException {
        run(Attempts.local(supervisor), supervisor, db, listener);
    }

    /**
     * Runs what the database does not hold yet, the provers' and portfolios' attempts where {@code attempts} says
     * (this machine, or a cluster's members); {@code supervisor} runs the rest here: version commands and the model
     * checks.
     */
    public void run(Attempts attempts, Supervisor supervisor, ResultsDatabase db, Listener listener)
            throws IOException, InterruptedException {
        // Models and check scripts go beside the database, not in /tmp: a run killed with -9 leaves them there, and
        // the next run on the same database (its --resume) removes them.
        Path scratch = db.file().toAbsolutePath().resolveSibling(SCRATCH);
        removeScratch(scratch);
        Files.createDirectories(scratch);
        try {
            new Runner(attempts, supervisor, db, listener, scratch).all();
        } catch (SQLException e) {
            throw new IOException("results database " + db.file() + ": " + e.getMessage(), e);
        } finally {
            removeScratch(scratch);
        }
    }

    /** The directory beside the results database where a run keeps provers' models while it checks them. */
    public static final String SCRATCH = "scratch";

    private static void removeScratch(Path scratch) throws IOException {
        if (!Files.isDirectory(scratch)) {
            return;
        }
        try (var files = Files.list(scratch)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(scratch);
    }

    /** The keys a resumed run must share with the run it resumes. */
    public Map<String, String> setup() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("timeout_ms", Long.toString(settings.timeout().toMillis()));
        m.put("cores", Integer.toString(settings.cores()));
        m.put("portfolios", settings.portfolios().stream().map(p -> p.option).collect(Collectors.joining(",")));
        if (settings.portfolios().contains(Policy.LEARNED) && settings.schedule() == null) {
            m.put("cross_validation", settings.crossValidation().name().toLowerCase(Locale.ROOT));
        }
        m.put("provers", String.join(",", proverNames));
        return m;
    }

    /** One pass over the work, skipping what the database already holds. */
    private final class Runner {
        private final Attempts attempts;
        private final Supervisor supervisor;
        private final ResultsDatabase db;
        private final Listener listener;
        private final Path scratch;
        private final Map<String, String> versions = new HashMap<>();
        private int done, total, files;

        Runner(Attempts attempts, Supervisor supervisor, ResultsDatabase db, Listener listener, Path scratch) {
            this.attempts = attempts;
            this.supervisor = supervisor;
            this.db = db;
            this.listener = listener;
            this.scratch = scratch;
        }

        void all() throws IOException, InterruptedException, SQLException {
            db.putProblems(problems);
            for (var e : setup().entrySet()) {
                db.putMeta(e.getKey(), e.getValue());
            }
            db.putMeta(MAX_ATTEMPTS, Integer.toString(attempts.maxAttempts()));
            Map<String, String> recorded = db.proverVersions();
            for (Prover p : provers) {
                String v = recorded.containsKey(p.name()) ? recorded.get(p.name()) : version(p);
                versions.put(p.name(), v);
                db.putProver(p, v);
            }
            Evaluation.this.raw.clear();
            Evaluation.this.raw.addAll(fromDatabase(db).raw);
            Set<String> finished = new HashSet<>();
            raw.forEach(r -> finished.add(r.problem().id() + "\0" + r.solver()));

            Map<Problem, List<Prover>> takers = new LinkedHashMap<>();
            for (Problem problem : problems) {
                List<Prover> t = new ArrayList<>();
                for (Prover p : provers) {
                    if (p.accepts(problem)) {
                        t.add(p);
                    }
                }
                takers.put(problem, t);
            }
            // What the database lacks, in order: the provers alone first (the learned schedule learns from them),
            // then each portfolio, which stands for every taker of its problem.
            record Alone(Problem problem, Prover prover) {}
            record Wanted(Policy policy, Problem problem) {}
            List<Alone> alone = new ArrayList<>();
            List<Wanted> wanted = new ArrayList<>();
            for (var e : takers.entrySet()) {
                for (Prover p : e.getValue()) {
                    if (!finished.contains(e.getKey().id() + "\0" + p.name())) {
                        alone.add(new Alone(e.getKey(), p));
                    }
                }
            }
            for (Policy policy : settings.portfolios()) {
                for (var e : takers.entrySet()) {
                    if (!e.getValue().isEmpty() && !finished.contains(e.getKey().id() + "\0" + policy.solver)) {
                        wanted.add(new Wanted(policy, e.getKey()));
                    }
                }
            }
            total = alone.size() + wanted.size();
            runAll(alone, attempts::parallelism, (w, lost, resend) -> alone(w.problem(), w.prover(), lost, resend));
            Function<Problem, Schedule> learned = wanted.stream().anyMatch(w -> w.policy() == Policy.LEARNED)
                    ? schedules() : null;
            // a portfolio takes `cores` of a machine: on this machine one at a time, on a cluster as slots allow
            runAll(wanted.stream().map(w -> new Portfolio(w.policy(), w.problem(), takers.get(w.problem()),
                    w.policy() == Policy.LEARNED ? learned.apply(w.problem()) : null)).toList(),
                    () -> Math.max(1, attempts.parallelism() / settings.cores()), this::portfolio);
            listener.starting(total, total, "done");
        }

        /** One attempt's end, as the runner's thread takes it from the attempts' threads. */
        private interface Ended {
            void record() throws IOException, SQLException, InterruptedException;
        }

        /** Starts one piece of work; {@code resend} puts it back at the head of the queue when its machine was lost. */
        private interface Start<T> {
            void start(T work, int lostSoFar, Runnable resend) throws IOException, SQLException;
        }

        private final java.util.concurrent.BlockingQueue<Ended> ended = new java.util.concurrent.LinkedBlockingQueue<>();
        private int inFlight;

        /**
         * Runs the work in order, at most {@code room} pieces at once (asked again as pieces end: a cluster's slots
         * change as members come and go); the rows are written here, on the runner's thread, as attempts end. A
         * piece whose machine was lost goes back to the head of the queue, to be sent again, up to the limit.
         */
        private <T> void runAll(List<T> work, java.util.function.IntSupplier room, Start<T> start)
                throws IOException, InterruptedException, SQLException {
            java.util.ArrayDeque<T> queue = new java.util.ArrayDeque<>(work);
            Map<T, Integer> lost = new HashMap<>();
            while (!queue.isEmpty() || inFlight > 0) {
                while (!queue.isEmpty() && inFlight < room.getAsInt()) {
                    T w = queue.poll();
                    start.start(w, lost.getOrDefault(w, 0), () -> {
                        lost.merge(w, 1, Integer::sum);
                        queue.addFirst(w);
                    });
                }
                List<Ended> now = new ArrayList<>();
                now.add(ended.take());
                ended.drainTo(now);
                for (Ended e : now) {
                    inFlight--;
                    e.record();
                }
            }
        }

        private record Portfolio(Policy policy, Problem problem, List<Prover> takers, Schedule schedule) {}

        /** Tells the listener that an attempt starts, counting a lost one sent again as the same attempt. */
        private void starting(String what, int lostSoFar) {
            listener.starting(lostSoFar == 0 ? done++ : done - 1, total, what + (lostSoFar == 0 ? "" : " (sent again)"));
        }

        /**
         * An attempt lost with its machine while the limit allows another: its row says so, its models go, and it is
         * sent again. False when the limit is spent: the attempt stands, unsolved.
         */
        private boolean sentAgain(String problem, String solver, int attempt, String version, String command,
                String detail, int lostSoFar, Collection<Path> models, Runnable resend)
                throws IOException, SQLException {
            if (lostSoFar + 1 >= attempts.maxAttempts()) {
                return false;
            }
            for (Path m : models) {
                Files.deleteIfExists(m);
            }
            db.finish(new ResultsDatabase.Row(problem, solver, attempt, MEMBER_LOST, Verdict.UNKNOWN,
                    Check.Kind.ABSENT, 0, 0, -1, version, command, "", detail + "; sent again"));
            resend.run();
            return true;
        }

        /** The version a prover's version command prints (its first line), or "unknown". */
        private String version(Prover p) throws InterruptedException {
            if (p.versionCommand().isEmpty() || !Provers.onPath(p.versionCommand().get(0))) {
                return "unknown";
            }
            Job job = supervisor.start(ProcessSpec.builder(p.versionCommand().toArray(String[]::new))
                    .timeout(Duration.ofSeconds(10)).grace(Duration.ofMillis(200)).build());
            job.await();
            String text = (job.stdout().text() + "\n" + job.stderr().text()).strip();
            return text.isEmpty() ? "unknown" : text.lines().findFirst().orElseThrow().strip();
        }

        private Path modelFile() {
            return scratch.resolve("model-" + (files++));
        }

        private void alone(Problem problem, Prover p, int lostSoFar, Runnable resend) throws SQLException {
            Path model = modelFile();
            String command = String.join(" ", p.commandFor(problem.file(), model));
            starting(p.name() + " on " + problem.id(), lostSoFar);
            String version = versions.get(p.name());
            int attempt = db.begin(problem.id(), p.name(), version, command);
            inFlight++;
            attempts.alone(p, problem, model, settings.timeout()).whenComplete((r, e) -> ended.add(() -> {
                if (e != null) {
                    throw new IOException(p.name() + " on " + problem.id() + " could not run: " + message(e), e);
                }
                Outcome o = r.outcome();
                if (o instanceof Outcome.MemberLost && sentAgain(problem.id(), p.name(), attempt, version, command,
                        o.describe(), lostSoFar, List.of(model), resend)) {
                    return;
                }
                Verdict v = p.verdict(r.stdout());
                Check check = certificate(p, problem, v, r.stdout(), model);
                Files.deleteIfExists(model);
                String detail = o instanceof Outcome.SpawnFailed f ? f.message()
                        : check.kind() == Check.Kind.REFUTED ? o.describe() + "; " + check.detail() : o.describe();
                record(new ResultsDatabase.Row(problem.id(), p.name(), attempt, o.kind(), v, check.kind(),
                        seconds(o.usage().wall()), seconds(o.usage().cpu()), o.usage().maxRssKib(), version,
                        command, "", detail + (o instanceof Outcome.MemberLost ? gaveUp(lostSoFar) : on(r.where()))),
                        problem);
            }));
        }

        private static String message(Throwable e) {
            Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause()
                    : e;
            return t.getMessage() != null ? t.getMessage() : t.toString();
        }

        /** For the row of an attempt lost with its machine when the limit was spent. */
        private String gaveUp(int lostSoFar) {
            return "; given up: " + (lostSoFar + 1) + " of " + attempts.maxAttempts()
                    + " attempts lost with their members";
        }

        /** Where an attempt ran, for its row's detail. */
        private static String on(String where) {
            return where.isEmpty() ? "" : "; on " + where;
        }

        private void portfolio(Portfolio w, int lostSoFar, Runnable resend) throws IOException, SQLException {
            Policy policy = w.policy();
            Problem problem = w.problem();
            Schedule schedule = w.schedule();
            List<Attempts.Entrant> entrants = new ArrayList<>();
            if (policy == Policy.LEARNED) {
                Map<String, Prover> byName = new HashMap<>();
                w.takers().forEach(t -> byName.put(t.name(), t));
                for (Schedule.Slot s : schedule.slots(problem.family())) {
                    if (byName.containsKey(s.prover())) {
                        entrants.add(new Attempts.Entrant(byName.get(s.prover()),
                                Duration.ofNanos(Math.max(1_000_000, (long) (s.slice() * 1e9)))));
                    }
                }
            }
            if (entrants.isEmpty()) { // not learned, or a family the schedule never saw: the cores-aware order
                w.takers().forEach(t -> entrants.add(new Attempts.Entrant(t, settings.timeout())));
            }
            starting(policy.solver + " on " + problem.id(), lostSoFar);
            Map<String, Path> models = new HashMap<>();
            StringBuilder command = new StringBuilder();
            for (Attempts.Entrant e : entrants) {
                Prover p = e.prover();
                Path model = modelFile();
                models.put(p.name(), model);
                command.append(command.isEmpty() ? "" : " | ").append(String.join(" ", p.commandFor(problem.file(),
                        model))).append(e.limit().equals(settings.timeout()) ? ""
                        : String.format(Locale.ROOT, " [slice %.3f s]", seconds(e.limit())));
            }
            Race.Mode mode = policy == Policy.SEQUENTIAL ? Race.Mode.SEQUENTIAL : Race.Mode.FIRST_SUCCESS;
            int concurrent = switch (policy) {
                case SEQUENTIAL -> 1;
                case RACE_ALL -> entrants.size();
                // a learned schedule may run more entrants than cores, sharing them, where its provers are specialists
                case LEARNED -> schedule.concurrency(problem.family());
                case CORES -> settings.cores();
            };
            int attempt = db.begin(problem.id(), policy.solver, "", command.toString());
            inFlight++;
            attempts.portfolio(problem, entrants, mode, concurrent, settings.timeout(), models).whenComplete((r, e) ->
                    ended.add(() -> {
                        if (e != null) {
                            throw new IOException(policy.solver + " on " + problem.id() + " could not run: "
                                    + message(e), e);
                        }
                        String where = attempts.where(r);
                        boolean lost = !r.won() && r.entrants().stream().anyMatch(x ->
                                x.outcome() instanceof Outcome.MemberLost);
                        if (lost && sentAgain(problem.id(), policy.solver, attempt, "", command.toString(),
                                "member lost", lostSoFar, models.values(), resend)) {
                            return;
                        }
                        finishPortfolio(policy, problem, entrants, r, models, attempt, command.toString(),
                                lost ? gaveUp(lostSoFar) : on(where), lost);
                    }));
        }

        private void finishPortfolio(Policy policy, Problem problem, List<Attempts.Entrant> entrants, RaceResult r,
                Map<String, Path> models, int attempt, String command, String where, boolean lost)
                throws IOException, InterruptedException, SQLException {
            Verdict v = Verdict.UNKNOWN;
            Check.Kind cert = Check.Kind.ABSENT;
            String detail = "no winner";
            if (r.winner().isPresent()) {
                RaceResult.Entry w = r.winner().get();
                Prover p = entrants.stream().map(Attempts.Entrant::prover).filter(e -> e.name().equals(w.name()))
                        .findFirst().orElseThrow();
                String out = w.stdout().text();
                v = p.verdict(out);
                Check check = certificate(p, problem, v, out, models.get(p.name()));
                cert = check.kind();
                detail = "winner " + p.name() + (cert == Check.Kind.REFUTED ? "; " + check.detail() : "");
            }
            for (Path m : models.values()) {
                Files.deleteIfExists(m);
            }
            long start = r.entrants().stream().flatMap(x -> x.run().stream()).mapToLong(RaceResult.Run::startNanos)
                    .min().orElse(0);
            double secs = r.winner().flatMap(RaceResult.Entry::run).map(won -> (won.exitNanos() - start) / 1e9)
                    .orElse(seconds(r.wall()));
            double cpu = r.entrants().stream().mapToDouble(e -> seconds(e.outcome().usage().cpu())).sum();
            long rss = r.entrants().stream().mapToLong(e -> e.outcome().usage().maxRssKib()).max().orElse(-1);
            String outcome = r.won() ? WON : lost ? MEMBER_LOST : r.timedOut() ? TIMED_OUT : NO_ANSWER;
            record(new ResultsDatabase.Row(problem.id(), policy.solver, attempt, outcome, v, cert, secs, cpu, rss,
                    "", command, "", detail + where), problem);
        }

        private void record(ResultsDatabase.Row row, Problem problem) throws SQLException {
            db.finish(row);
            Run run = new Run(row.solver(), problem, row.answer(), row.wall(), row.outcome().equals(TIMED_OUT),
                    row.outcome().equals(CRASHED), row.certificate(), problem.status(), false, row.cpu(),
                    row.memoryKib(), row.detail());
            synchronized (Evaluation.this) {
                raw.add(run);
                judged = null;
            }
            listener.finished(run);
        }

        /** The learned portfolio's schedule per problem: a given one, or learned on the other half of this run. */
        private Function<Problem, Schedule> schedules() {
            if (settings.schedule() != null) {
                schedulesUsed.put("all", settings.schedule());
                return p -> settings.schedule();
            }
            List<Schedule.Sample> samples = samples(runs(), proverNames, settings.timeout());
            if (settings.crossValidation() == CrossValidation.LEAVE_ONE_OUT) {
                schedulesUsed.put("learned on all problems (each problem ran the one learned on all the others)",
                        Schedule.learn(samples,
                        settings.cores(), seconds(settings.timeout())));
                return p -> Schedule.learn(samples.stream().filter(x -> !x.problem().equals(p.id())).toList(),
                        settings.cores(), seconds(settings.timeout()));
            }
            List<Set<String>> halves = Schedule.halves(samples);
            List<Schedule> learned = new ArrayList<>();
            for (int h = 0; h < 2; h++) {
                Set<String> other = halves.get(1 - h);
                Schedule s = Schedule.learn(samples.stream().filter(x -> other.contains(x.problem())).toList(),
                        settings.cores(), seconds(settings.timeout()));
                learned.add(s);
                schedulesUsed.put("half " + (h + 1) + " (learned on half " + (2 - h) + ")", s);
            }
            return p -> learned.get(halves.get(0).contains(p.id()) ? 0 : 1);
        }

        /**
         * A model-checked satisfiable answer is CONFIRMED or REFUTED (the detail says why: the false clause, the
         * checker's answer); anything else has no certificate.
         */
        private Check certificate(Prover p, Problem problem, Verdict v, String out, Path model)
                throws IOException, InterruptedException {
            if (v != Verdict.SAT || problem.family().equals("tptp")) {
                return Check.absent("no model to check");
            }
            if (problem.family().equals("cnf")) {
                return Certificates.dimacs(problem.file(), out, p.writesModelFile() ? model : null);
            }
            Optional<String> script = Certificates.smtCheckScript(problem.file(), out);
            Optional<List<String>> checker = smtChecker(p.name());
            if (script.isEmpty() || checker.isEmpty()) {
                return Check.absent(script.isEmpty() ? "no model that is cheap to check" : "no SMT solver to check it");
            }
            Path file = scratch.resolve("check-" + (files++) + ".smt2");
            Files.writeString(file, script.get());
            List<String> argv = new ArrayList<>(checker.get());
            argv.add(file.toString());
            Job job = supervisor.start(Attempts.spec(argv, Duration.ofSeconds(Math.max(10, settings.timeout().toSeconds()))));
            job.await();
            Files.deleteIfExists(file);
            return Certificates.smtCheckResult(job.stdout().text());
        }
    }

    /** The SMT solver that checks a model: an installed one other than the prover that gave it, where there is one. */
    static Optional<List<String>> smtChecker(String prover) {
        List<List<String>> checkers = List.of(List.of("z3"), List.of("cvc5"), List.of("cvc4", "--lang", "smt2"));
        Optional<List<String>> any = Optional.empty();
        for (List<String> c : checkers) {
            if (Provers.onPath(c.get(0))) {
                if (!c.get(0).equals(prover)) {
                    return Optional.of(c);
                }
                any = Optional.of(c);
            }
        }
        return any;
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    /**
     * Judges every run: a stated status is the truth; otherwise a confirmed model settles a satisfiable answer;
     * otherwise the definite answers (those whose certificate was not refuted) must agree, or the problem is a
     * conflict.
     */
    static List<Run> judge(List<Run> runs) {
        Map<String, List<Run>> byProblem = new LinkedHashMap<>();
        runs.forEach(r -> byProblem.computeIfAbsent(r.problem().id(), k -> new ArrayList<>()).add(r));
        Map<String, Verdict> truth = new HashMap<>();
        Set<String> conflicts = new HashSet<>();
        for (var e : byProblem.entrySet()) {
            Problem p = e.getValue().get(0).problem();
            if (p.status() != Verdict.UNKNOWN) {
                truth.put(e.getKey(), p.status());
                continue;
            }
            Optional<Verdict> confirmed = e.getValue().stream().filter(r -> r.certificate() == Check.Kind.CONFIRMED)
                    .map(Run::verdict).findFirst();
            if (confirmed.isPresent()) {
                truth.put(e.getKey(), confirmed.get());
                continue;
            }
            Set<Verdict> answers = EnumSet.noneOf(Verdict.class);
            e.getValue().stream().filter(r -> r.verdict() != Verdict.UNKNOWN && r.certificate() != Check.Kind.REFUTED)
                    .forEach(r -> answers.add(r.verdict()));
            if (answers.size() == 1) {
                truth.put(e.getKey(), answers.iterator().next());
            } else if (answers.size() > 1) {
                conflicts.add(e.getKey());
            }
        }
        return runs.stream().map(r -> r.judged(truth.getOrDefault(r.problem().id(), Verdict.UNKNOWN),
                conflicts.contains(r.problem().id()))).toList();
    }

    /** The problems whose answers conflict, with who said what. */
    public List<Conflict> conflicts() {
        Map<String, Conflict> out = new TreeMap<>();
        for (Run r : runs()) {
            if (r.conflicting()) {
                out.computeIfAbsent(r.problem().id(), k -> new Conflict(r.problem(), new TreeMap<>()))
                        .answers().computeIfAbsent(r.verdict(), k -> new ArrayList<>()).add(r.solver());
            }
        }
        return List.copyOf(out.values());
    }

    /**
     * Solvers in table order: the provers that ran (one whose only-if took no problem is left out), the portfolios,
     * the virtual best solver.
     */
    public List<String> solvers() {
        Set<String> ran = runs().stream().map(Run::solver).collect(Collectors.toSet());
        List<String> names = new ArrayList<>(proverNames.stream().filter(p -> raw.isEmpty() || ran.contains(p))
                .toList());
        settings.portfolios().forEach(p -> names.add(p.solver));
        names.add(VBS);
        return names;
    }

    /** Whether {@code solver} is a prover alone (not a portfolio, not the virtual best). */
    public boolean isProver(String solver) {
        return proverNames.contains(solver);
    }

    /** Runs of one solver; for the virtual best, per problem the fastest correct run of any prover alone. */
    public List<Run> runsOf(String solver) {
        if (!solver.equals(VBS)) {
            return runs().stream().filter(r -> r.solver().equals(solver)).toList();
        }
        Map<String, Run> best = new LinkedHashMap<>();
        for (Run r : runs()) {
            if (!isProver(r.solver())) {
                continue;
            }
            Run b = best.get(r.problem().id());
            boolean better = b == null || (r.solved() && (!b.solved() || r.seconds() < b.seconds()));
            if (better) {
                best.put(r.problem().id(), new Run(VBS, r.problem(), r.solved() ? r.verdict() : Verdict.UNKNOWN,
                        r.seconds(), !r.solved(), false, Check.Kind.ABSENT, r.truth(), false, r.cpu(), r.memoryKib(),
                        r.solver()));
            }
        }
        return List.copyOf(best.values());
    }

    public Score score(String solver) {
        return score(solver, null);
    }

    /** A solver's score over one family's problems ({@code family} null: all). */
    public Score score(String solver, String family) {
        List<Run> rs = runsOf(solver).stream().filter(r -> family == null || r.problem().family().equals(family))
                .toList();
        double t = seconds(settings.timeout()), par2 = 0;
        int solved = 0, timeouts = 0, crashed = 0, wrong = 0, conflicts = 0;
        for (Run r : rs) {
            solved += r.solved() ? 1 : 0;
            timeouts += r.timedOut() && !r.solved() ? 1 : 0;
            crashed += r.crashed() ? 1 : 0;
            wrong += r.wrong() ? 1 : 0;
            conflicts += r.conflicting() ? 1 : 0;
            par2 += r.solved() ? r.seconds() : 2 * t;
        }
        return new Score(solver, rs.size(), solved, timeouts, crashed, wrong, conflicts,
                rs.isEmpty() ? 0 : par2 / rs.size());
    }

    /** The families present, in {@link Provers#FAMILIES} order. */
    public List<String> families() {
        Set<String> present = problems.stream().map(Problem::family).collect(Collectors.toSet());
        return Provers.FAMILIES.stream().filter(present::contains).toList();
    }

    /** Samples for {@link Schedule#learn}: each prover alone on each problem, judged. */
    static List<Schedule.Sample> samples(List<Run> runs, List<String> provers, Duration timeout) {
        double t = seconds(timeout);
        return runs.stream().filter(r -> provers.contains(r.solver()))
                .map(r -> new Schedule.Sample(r.problem().id(), r.problem().family(), r.solver(), r.solved(),
                        Math.min(t, r.seconds())))
                .sorted(Comparator.comparing(Schedule.Sample::problem)).toList();
    }

    /** Samples of the provers alone in this evaluation. */
    public List<Schedule.Sample> samples() {
        return samples(runs(), proverNames, settings.timeout());
    }

    /** The results table, as text. */
    public String table() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-14s %8s %7s %9s %8s %6s %9s %9s%n",
                "solver", "problems", "solved", "timeouts", "crashed", "wrong", "conflicts", "PAR-2 s"));
        for (String s : solvers()) {
            Score sc = score(s);
            b.append(String.format(Locale.ROOT, "%-14s %8d %7d %9d %8d %6d %9d %9.2f%n", s, sc.problems(),
                    sc.solved(), sc.timeouts(), sc.crashed(), sc.wrong(), sc.conflicts(), sc.par2()));
        }
        return b.toString();
    }
}
