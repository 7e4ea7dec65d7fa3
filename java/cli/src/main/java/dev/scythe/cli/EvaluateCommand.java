package dev.scythe.cli;

import dev.scythe.Outcome;
import dev.scythe.Supervisor;
import dev.scythe.eval.Corpus;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Exports;
import dev.scythe.eval.ProgressPrinter;
import dev.scythe.eval.Provers;
import dev.scythe.eval.Report;
import dev.scythe.eval.ResultsDatabase;
import dev.scythe.eval.Schedule;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code scythe evaluate}: every prover, the portfolios and the virtual best solver over a directory of problems. */
@Command(name = "evaluate",
        customSynopsis = "scythe evaluate [DIR] [--timeout D] [--out DIR] [--provers NAME,...] [--prover-file FILE] "
                + "[--portfolio cores|race|sequential|learned,...] [--cores N] [--schedule FILE | --learn-from DB | "
                + "--cross-validate halves|leave-one-out] [--resume]",
        description = {"The main job: every prover, the portfolios and the virtual best over a directory of problems.",
            "",
            "Finds every problem under DIR (any tree: DIMACS .cnf, SMT-LIB .smt2, TPTP .p; the content decides where "
                    + "the extension lies), with the status the file states (SMT-LIB set-info :status, TPTP %% Status) "
                    + "or DIR/index.tsv states (file<TAB>family<TAB>status), if any. Runs every installed prover alone "
                    + "on every problem it takes (DIMACS: minisat, picosat, cadical, cryptominisat; SMT-LIB: z3, cvc5, "
                    + "cvc4, boolector; TPTP: eprover, spass; more with --prover-file), then each portfolio, each "
                    + "under --timeout. Answers are checked: against the stated status; where there is none, a sat "
                    + "answer's model is checked against the problem, and provers that disagree make a conflict, "
                    + "solved by nobody.",
            "",
            "Every attempt goes into the SQLite database OUT/results.db as it starts and ends; --resume goes on "
                    + "from where a stopped run ended. Prints per solver: problems, solved, timeouts, crashes, wrong "
                    + "answers, conflicts and PAR-2; writes report.html, cactus.png, cactus.svg, results.csv and "
                    + "results.jsonl to OUT, all from the database; and schedule.tsv when the learned portfolio ran."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every answer agreed with the known or judged status",
            "1:some prover gave a wrong answer, or provers disagreed (both listed), or no prover is installed",
            "125:a bad option or prover file (the message names it), or the problems, database or report failed",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: every prover was killed first; --resume goes on"},
        footer = Subcommand.DURATIONS)
final class EvaluateCommand extends Subcommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR", converter = PathOptions.Directory.class,
            description = "the problems: any directory tree (default corpus)")
    private Path dir;

    @Option(names = "--corpus", paramLabel = "DIR", converter = PathOptions.Directory.class, description = {
        "the same as DIR"})
    private Path corpus;

    @Option(names = "--timeout", paramLabel = "D", converter = Durations.Positive.class, description = {
        "per problem and solver (default 5s; must be positive)"})
    private Duration timeout = Duration.ofSeconds(5);

    @Option(names = "--out", paramLabel = "DIR", converter = PathOptions.Any.class, description = {
        "where the database and the report go (default evaluation; created if missing)"})
    private Path outDir = Path.of("evaluation");

    @Option(names = "--provers", paramLabel = "NAMES", split = ",", description = {
        "only these provers, separated by commas (or given again); each must be installed"})
    private Set<String> only;

    @Option(names = "--prover-file", paramLabel = "FILE", converter = PathOptions.Any.class, description = {
        "more prover definitions (the form of the shipped provers.conf, in docs/evaluate.md); a block of a shipped "
                + "name replaces that prover"})
    private Path proverFile;

    @Option(names = "--portfolio", paramLabel = "LIST", split = ",", description = {
        "the portfolios to run, separated by commas: cores (at most --cores provers at once, the rest wait), race "
                + "(all at once), sequential (one after another), learned (a schedule learned from results; see "
                + "--schedule); default cores"})
    private List<String> portfolios = List.of("cores");

    @Option(names = "--cores", paramLabel = "N", description = {
        "how many provers a portfolio runs at once (default: this machine's cores)"})
    private int cores = Runtime.getRuntime().availableProcessors();

    @Option(names = "--schedule", paramLabel = "FILE", converter = PathOptions.Any.class, description = {
        "the learned portfolio's schedule (a schedule.tsv an earlier run wrote); without it and --learn-from, it is "
                + "learned from this run's provers alone, cross-validated: each half of the problems runs the "
                + "schedule learned on the other half"})
    private Path scheduleFile;

    @Option(names = "--cross-validate", paramLabel = "HOW", description = {
        "how a schedule learned from this run's own results is measured: halves (each half of the problems runs the "
                + "schedule learned on the other half; default) or leave-one-out (each problem runs the schedule "
                + "learned on all the others)"})
    private String crossValidate = "halves";

    @Option(names = "--learn-from", paramLabel = "DB", converter = PathOptions.Any.class, description = {
        "learn the schedule from an earlier run's results.db (or its directory)"})
    private Path learnFrom;

    @Option(names = "--resume", arity = "0", preprocessor = Subcommand.Flag.class, description = {
        "go on with OUT/results.db: run only what it does not hold yet (with the same timeout, provers, portfolios "
                + "and cores); without it, an earlier OUT/results.db is kept as results-previous.db"})
    private boolean resume;

    @Option(names = "--cluster", paramLabel = "HOST:PORT", split = ",", converter = MemberCommand.HostPort.class,
            description = {
        "run the attempts on the members of a Scythe cluster (started with 'scythe member'), joined at these "
                + "addresses, instead of on this machine; problems travel with their attempts (docs/cluster.md)"})
    private List<String> cluster = List.of();

    @Option(names = "--cluster-name", paramLabel = "NAME", converter = MemberCommand.ClusterName.class,
            description = {"the cluster's name, as its members were started with (default: scythe)"})
    private String clusterName;

    @Option(names = "--max-attempts", paramLabel = "N", converter = Numbers.Attempts.class, description = {
        "with --cluster: how many times an attempt whose member was lost is sent, in all (1 to 1000, default: 3); "
                + "then it counts as unsolved, member_lost"})
    private Long maxAttempts;

    EvaluateCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        if (dir != null && corpus != null && !dir.equals(corpus)) {
            throw new UsageException("give the problems once: DIR or --corpus, not both");
        }
        if (cores < 1) {
            throw new UsageException("--cores must be at least 1, got " + cores);
        }
        if (cluster.isEmpty() && (maxAttempts != null || clusterName != null)) {
            throw new UsageException("--max-attempts and --cluster-name need --cluster");
        }
        dev.scythe.cluster.FarmConfig farmConfig;
        try {
            farmConfig = cluster.isEmpty() ? null
                    : dev.scythe.cluster.FarmConfig.joining(cluster).withClusterName(clusterName == null
                            ? dev.scythe.cluster.FarmConfig.CLUSTER : clusterName);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--cluster: " + e.getMessage());
        }
        if (scheduleFile != null && learnFrom != null) {
            throw new UsageException("--schedule and --learn-from both give the schedule; choose one");
        }
        List<Evaluation.Policy> policies = new ArrayList<>();
        for (String p : new LinkedHashSet<>(portfolios)) {
            try {
                policies.add(Evaluation.Policy.of(p));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--portfolio: " + e.getMessage());
            }
        }
        if ((scheduleFile != null || learnFrom != null) && !policies.contains(Evaluation.Policy.LEARNED)) {
            policies.add(Evaluation.Policy.LEARNED);
        }
        Evaluation.CrossValidation cv = switch (crossValidate) {
            case "halves" -> Evaluation.CrossValidation.HALVES;
            case "leave-one-out" -> Evaluation.CrossValidation.LEAVE_ONE_OUT;
            default -> throw new UsageException("--cross-validate: expected halves or leave-one-out, got '"
                    + crossValidate + "'");
        };
        Path problemsDir = dir != null ? dir : corpus != null ? corpus : Path.of("corpus");
        Path dbFile = outDir.resolve(ResultsDatabase.FILE);
        if (resume && !Files.exists(dbFile)) {
            throw new UsageException("--resume: no " + dbFile + " to resume");
        }
        try {
            Schedule schedule = schedule();
            List<Provers.Prover> provers = provers();
            if (provers.isEmpty()) {
                err.println("scythe: no prover installed; try: apt-get install z3 cvc5 minisat cadical eprover spass");
                return 1;
            }
            Corpus.Scan scan = Corpus.scanDetailed(problemsDir);
            if (!scan.skipped().isEmpty()) {
                err.println("scythe: skipped " + scan.skipped().size() + " files that are not DIMACS, SMT-LIB or TPTP "
                        + "problems: " + scan.skipped().stream().limit(5).map(Path::toString)
                                .collect(Collectors.joining(", ")) + (scan.skipped().size() > 5 ? ", ..." : ""));
            }
            Set<String> families = scan.problems().stream().map(Provers.Problem::family).collect(Collectors.toSet());
            provers = provers.stream().filter(p -> families.contains(p.family())).toList();
            Evaluation ev = new Evaluation(scan.problems(), provers, new Evaluation.Settings(timeout, cores, policies,
                    schedule, cv));
            long stated = scan.problems().stream().filter(p -> p.status() != Provers.Verdict.UNKNOWN).count();
            err.println("scythe: " + scan.problems().size() + " problems under " + problemsDir + " (" + stated
                    + " with a stated status), provers " + provers.stream().map(Provers.Prover::name).toList()
                    + ", portfolios " + policies.stream().map(p -> p.option).toList() + " on " + cores
                    + " cores, timeout " + Durations.millis(timeout) + " ms");
            // the cluster first: a farm that cannot be reached leaves OUT as it was (its results.db not set aside)
            dev.scythe.cluster.Farm farm = null;
            if (farmConfig != null) {
                dev.scythe.cluster.FarmConfig.quietLogging();
                try {
                    farm = dev.scythe.cluster.Farm.connect(farmConfig.coordinator());
                } catch (RuntimeException e) {
                    err.println("scythe: cannot join cluster '" + farmConfig.clusterName() + "' at " + cluster + ": "
                            + e.getMessage());
                    return Outcome.STATUS_SCYTHE_FAILED;
                }
            }
            try (dev.scythe.cluster.Farm joined = farm) {
                if (joined != null && joined.slots() == 0) {
                    err.println("scythe: no member of cluster '" + farmConfig.clusterName() + "' at " + cluster
                            + " runs jobs; start them with 'scythe member'");
                    return Outcome.STATUS_SCYTHE_FAILED;
                }
                if (joined != null) {
                    err.println("scythe: on cluster '" + farmConfig.clusterName() + "': " + joined.members()
                            .entrySet().stream().map(m -> m.getKey() + " (" + m.getValue()
                                    + (m.getValue() == 1 ? " slot)" : " slots)")).collect(Collectors.joining(", ")));
                }
                return run(ev, problemsDir, dbFile, joined == null ? null
                        : new dev.scythe.cluster.ClusterAttempts(joined, cores, maxAttempts == null
                                ? dev.scythe.cluster.ClusterAttempts.MAX_ATTEMPTS : maxAttempts.intValue()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.STATUS_SCYTHE_FAILED;
        } catch (IOException | SQLException e) {
            err.println("scythe: " + e.getMessage());
            return Outcome.STATUS_SCYTHE_FAILED;
        }
    }

    /** Runs the evaluation into OUT/results.db, here or on the cluster's {@code attempts}, and reports it. */
    private int run(Evaluation ev, Path problemsDir, Path dbFile, dev.scythe.eval.Attempts attempts)
            throws IOException, SQLException, InterruptedException {
        Files.createDirectories(outDir);
        if (!resume && Files.exists(dbFile)) {
            keepPrevious(dbFile);
        }
        try (ResultsDatabase db = ResultsDatabase.open(dbFile)) {
            if (resume) {
                checkSameSetup(db, ev.setup());
                int interrupted = db.markInterrupted();
                err.println("scythe: resuming " + dbFile + (interrupted > 0 ? "; " + interrupted
                        + " attempt(s) it left unfinished run again" : ""));
            }
            db.putMeta("corpus", problemsDir.toAbsolutePath().toString());
            ProgressPrinter progress = new ProgressPrinter(err, System.console() != null
                    && System.console().isTerminal());
            try (Supervisor supervisor = new Supervisor()) {
                if (attempts == null) {
                    ev.run(supervisor, db, progress);
                } else {
                    ev.run(attempts, supervisor, db, progress);
                }
            }
            return report(Evaluation.fromDatabase(db), ev);
        }
    }

    /** The provers to run: the shipped ones (and the file's), those asked for; a missing one asked for is an error. */
    private List<Provers.Prover> provers() throws IOException {
        List<Provers.Prover> known = proverFile == null ? Provers.ALL : Provers.withFile(proverFile);
        List<String> names = known.stream().map(Provers.Prover::name).toList();
        if (only != null) {
            for (String name : only) {
                if (!names.contains(name)) {
                    throw new UsageException("--provers: unknown prover '" + name + "'; known: " + names);
                }
            }
        }
        List<Provers.Prover> chosen = new ArrayList<>(), missing = new ArrayList<>();
        for (Provers.Prover p : known) {
            if (only == null || only.contains(p.name())) {
                (p.installed() ? chosen : missing).add(p);
            }
        }
        List<String> missingNames = missing.stream().map(p -> p.name() + " ('" + p.command().get(0)
                + "' is not on PATH; Debian package " + p.debianPackage() + ")").toList();
        if (only != null && !missing.isEmpty()) {
            throw new IOException("--provers: not installed: " + String.join(", ", missingNames));
        }
        if (!missing.isEmpty()) {
            err.println("scythe: not installed, going on without them: " + String.join(", ", missingNames));
        }
        return chosen;
    }

    private Schedule schedule() throws IOException {
        if (scheduleFile != null) {
            if (!Files.isRegularFile(scheduleFile)) {
                throw new IOException("--schedule: no file " + scheduleFile);
            }
            try {
                return Schedule.parse(Files.readString(scheduleFile));
            } catch (IllegalArgumentException e) {
                throw new IOException("--schedule " + scheduleFile + ": " + e.getMessage());
            }
        }
        if (learnFrom == null) {
            return null;
        }
        Path file = Files.isDirectory(learnFrom) ? learnFrom.resolve(ResultsDatabase.FILE) : learnFrom;
        if (!Files.isRegularFile(file)) {
            throw new IOException("--learn-from: no results database " + file);
        }
        try (ResultsDatabase db = ResultsDatabase.open(file)) {
            Evaluation earlier = Evaluation.fromDatabase(db);
            return Schedule.learn(earlier.samples(), cores, timeout.toNanos() / 1e9);
        }
    }

    /** An earlier run's database (and its write-ahead log) becomes results-previous.*, replacing an older one. */
    private void keepPrevious(Path dbFile) throws IOException {
        for (String suffix : List.of("", "-wal", "-shm")) {
            Path from = Path.of(dbFile + suffix), to = dbFile.resolveSibling("results-previous.db" + suffix);
            Files.deleteIfExists(to);
            if (Files.exists(from)) {
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        err.println("scythe: the earlier " + dbFile + " is kept as " + dbFile.resolveSibling("results-previous.db")
                + " (--resume goes on with a run instead)");
    }

    private static void checkSameSetup(ResultsDatabase db, Map<String, String> setup) throws SQLException {
        for (var e : setup.entrySet()) {
            Optional<String> was = db.meta(e.getKey());
            if (was.isPresent() && !was.get().equals(e.getValue())) {
                throw new UsageException("--resume: " + db.file() + " was run with " + e.getKey() + " " + was.get()
                        + ", this run has " + e.getValue() + "; resume with the same options, or choose another --out");
            }
        }
    }

    private int report(Evaluation ev, Evaluation ran) throws IOException {
        new Report(ev).write(outDir);
        Exports.csv(ev, outDir.resolve("results.csv"));
        Exports.jsonLines(ev, outDir.resolve("results.jsonl"));
        if (ev.settings().portfolios().contains(Evaluation.Policy.LEARNED)) {
            // the schedule learned on every problem of this run, for the next run's --schedule
            Schedule all = ran.settings().schedule() != null ? ran.settings().schedule()
                    : Schedule.learn(ev.samples(), cores, timeout.toNanos() / 1e9);
            Files.writeString(outDir.resolve("schedule.tsv"), all.toText());
        }
        out.print(ev.table());
        int bad = 0;
        for (Evaluation.Run r : ev.runs()) {
            if (r.wrong()) {
                bad++;
                out.println("WRONG ANSWER: " + r.solver() + " said " + r.verdict() + " on " + r.problem().name()
                        + (r.certificate() == dev.scythe.eval.Certificates.Check.Kind.REFUTED
                                ? ", and its model does not satisfy the problem"
                                : ", " + (r.problem().status() == r.truth() ? "stated " : "a checked model says ")
                                        + r.truth()));
            }
        }
        for (Evaluation.Conflict c : ev.conflicts()) {
            bad++;
            out.println("CONFLICT: on " + c.problem().name() + ", " + c.answers().entrySet().stream()
                    .map(a -> String.join(", ", a.getValue()) + " said " + a.getKey())
                    .collect(Collectors.joining("; ")));
        }
        out.println("results: " + outDir.resolve(ResultsDatabase.FILE) + " (also results.csv, results.jsonl); report: "
                + outDir.resolve("report.html") + ", plot: " + outDir.resolve("cactus.png") + " and "
                + outDir.resolve("cactus.svg"));
        return bad > 0 ? 1 : 0;
    }
}
