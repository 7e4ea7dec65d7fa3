package dev.scythe.cli;

import dev.scythe.CancelToken;
import dev.scythe.OsStrings;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import dev.scythe.cluster.ClusterRace;
import dev.scythe.cluster.Farm;
import dev.scythe.cluster.FarmConfig;
import dev.scythe.cluster.RemoteJob;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** {@code scythe race}: a portfolio of commands separated by {@code :::}. */
@Command(name = "race", customSynopsis = "scythe race [OPTIONS] [--] CMD [ARGS...] ::: CMD [ARGS...] ::: ...",
        description = {"Races commands on one goal: the first success wins, the others are killed at once.", "",
            "Races the commands (entrants, separated by :::) on one goal. Each entrant is a job of its own, with the "
                    + "job options below. Prints a table (entrant, outcome, wall, CPU), the winner and its stdout.",
            "",
            "With --cluster, the entrants run on the members of a Scythe cluster (scythe member), placed by free "
                    + "slots, each in a fresh directory there ({dir} in an argument names it); an argument that names "
                    + "a file here (up to 64 MiB) is sent with the entrant and names its copy there. The table and the "
                    + "JSON give each entrant's member. A member lost meanwhile (killed, or silent past its heartbeat) ends "
                    + "its entrants member_lost."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:an entrant won",
            "1:nobody won",
            "124:the race's --timeout passed before anyone won",
            "125:a bad option (the message names it), no member of the --cluster runs jobs, or scythe failed",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: every entrant was killed first"},
        footer = Subcommand.DURATIONS)
final class RaceCommand extends Subcommand {
    static final int EXIT_NO_WINNER = 1;

    @Option(names = "--mode", paramLabel = "M", converter = Mode.class, completionCandidates = Mode.class,
            description = {"first (default): the first success wins and every other entrant is killed at once;",
                "best: all run to the end, the fastest success wins;",
                "seq: one after another until one succeeds"})
    private String mode = "first";

    @Option(names = "--timeout", paramLabel = "D", converter = Durations.Limit.class, description = {
        "limit for the whole race (0 or inf: none); exit status 124"})
    private Duration timeout;

    @Option(names = "--jobs", paramLabel = "K", converter = Numbers.Jobs.class, description = {
        "at most K entrants at once (1 to 1000000); the rest wait their turn"})
    private Long jobs;

    @Option(names = "--success-exit", paramLabel = "CODES", converter = ExitCodes.class, description = {
        "exit codes that count as success, e.g. 0 or 10,20 (default 0)"})
    private SuccessCriterion.ExitCodes exitCodes;

    @Option(names = "--success-match", paramLabel = "REGEX", converter = Regex.class, description = {
        "success needs a line of the entrant's stdout to match the POSIX extended REGEX (grep -E; ^ and $ match at "
                + "line ends); with --success-exit both must hold"})
    private String match;

    @Option(names = "--json", arity = "0", preprocessor = Flag.class, description = {
        "print the result as one JSON object (docs/cli.md)"})
    private boolean json;

    @Option(names = "--base64", arity = "0", preprocessor = Flag.class, description = {
        "with --json: also give the winner's stdout exactly, in base64"})
    private boolean base64;

    @Option(names = "--cluster", paramLabel = "HOST:PORT", split = ",", converter = MemberCommand.HostPort.class,
            description = {"run the entrants on the Scythe cluster that these members (scythe member) belong to, "
                    + "separated by commas; first-success races only, without --jobs, --success-match, --base64 or "
                    + "limits"})
    private List<String> cluster;

    @Option(names = "--cluster-name", paramLabel = "NAME", converter = MemberCommand.ClusterName.class,
            description = {"with --cluster: the cluster's name (default " + FarmConfig.CLUSTER + ")"})
    private String clusterName;

    @ArgGroup(validate = false, exclusive = false, heading = "%nEach job:%n")
    private JobOptions job = new JobOptions();

    @Parameters(paramLabel = "CMD", description = "the entrants' commands and their arguments, separated by :::")
    private List<String> commands = List.of();

    RaceCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    /** The type of {@code --mode}: the name as given, checked; and its completions. */
    static final class Mode implements ITypeConverter<String>, Iterable<String> {
        @Override
        public String convert(String v) {
            mode(v);
            return v;
        }

        @Override
        public java.util.Iterator<String> iterator() {
            return List.of("first", "best", "seq").iterator();
        }
    }

    static Race.Mode mode(String v) {
        return switch (v) {
            case "first" -> Race.Mode.FIRST_SUCCESS;
            case "best" -> Race.Mode.BEST_OF;
            case "seq" -> Race.Mode.SEQUENTIAL;
            default -> throw new TypeConversionException("must be first, best or seq, got '" + v + "'");
        };
    }

    /**
     * The type of {@code --success-exit}: codes separated by commas, each 0 to 255. One value, so that a second
     * {@code --success-exit} replaces the first, as every option given twice does.
     */
    static final class ExitCodes implements ITypeConverter<SuccessCriterion.ExitCodes> {
        @Override
        public SuccessCriterion.ExitCodes convert(String v) {
            Set<Integer> codes = new LinkedHashSet<>();
            for (String c : v.split(",", -1)) {
                codes.add((int) Numbers.whole(c.trim(), 0, 255));
            }
            return new SuccessCriterion.ExitCodes(codes);
        }
    }

    @Override
    public Integer call() {
        List<List<String>> entrants = split(commands);
        if (base64 && !json) {
            throw new UsageException("--base64 needs --json");
        }
        job.check();
        if (clusterName != null && cluster == null) {
            throw new UsageException("--cluster-name needs --cluster");
        }
        if (cluster != null) {
            return onCluster(entrants);
        }
        List<SuccessCriterion> criteria = new ArrayList<>();
        if (exitCodes != null || match == null) {
            criteria.add(exitCodes == null ? new SuccessCriterion.ExitCodes(Set.of(0)) : exitCodes);
        }
        if (match != null) {
            criteria.add(SuccessCriterion.stdoutMatchesPosix(match));
        }
        CancelToken token = CancelToken.create();
        Race.Builder race = Race.builder().mode(mode(mode)).timeout(timeout).token(token)
                .success(criteria.size() == 1 ? criteria.get(0) : new SuccessCriterion.AllOf(criteria));
        if (jobs != null) {
            race.maxConcurrent(Math.toIntExact(jobs));
        }
        for (int k = 0; k < entrants.size(); k++) {
            List<byte[]> cmd = bytes(entrants.get(k));
            String program = OsStrings.display(cmd.get(0));
            race.entrant((k + 1) + ":" + program.substring(program.lastIndexOf('/') + 1),
                    job.applyTo(ProcessSpec.builderOfBytes(cmd)).build());
        }
        RaceResult result;
        Interrupts interrupts;
        try (Supervisor supervisor = new Supervisor()) {
            interrupts = new Interrupts(token::cancel);
            result = race.build().run(supervisor);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        }
        int status = interrupts.status() != 0 ? interrupts.status()
                : result.won() ? 0 : result.timedOut() ? 124 : EXIT_NO_WINNER;
        if (json) {
            out.println(Json.write(json(result, status)));
        } else {
            for (RaceResult.Entry e : result.entrants()) {
                if (e.outcome() instanceof dev.scythe.Outcome.SpawnFailed
                        || e.outcome() instanceof dev.scythe.Outcome.ResourceExceeded
                        || e.outcome() instanceof dev.scythe.Outcome.StatusLost) {
                    err.print(e.name() + ": ");
                    RunCommand.explain(e.outcome(), e.name(), job, err);
                }
            }
            table(result, null, out);
        }
        return status;
    }

    /** The options a race on a cluster cannot honour: each refused by name. */
    private void refuseOnCluster() {
        String refused = !mode.equals("first") ? "--mode " + mode + " (a cluster race is first-success)"
                : jobs != null ? "--jobs (every entrant starts at once, placed by free slots)"
                : match != null ? "--success-match (give --success-exit)"
                : base64 ? "--base64 (members send their output back as text)"
                : job.containment != dev.scythe.Containment.BEST ? "--containment (members use best)"
                : job.memoryLimit > 0 ? "--memory-limit" : job.processLimit > 0 ? "--process-limit"
                : job.cpuLimit != null ? "--cpu-limit" : job.dossier != null ? "--dossier" : null;
        if (refused != null) {
            throw new UsageException("--cluster does not support " + refused);
        }
    }

    /** The race on the members of {@code --cluster}, as a coordinator (a lite member that runs no job). */
    private int onCluster(List<List<String>> commands) {
        refuseOnCluster();
        List<Integer> codes = exitCodes == null ? List.of(0) : List.copyOf(exitCodes.codes());
        List<ClusterRace.Entrant> entrants = new ArrayList<>();
        for (int k = 0; k < commands.size(); k++) {
            for (String word : commands.get(k)) {
                if (!Arrays.equals(Arg.bytes(word), word.getBytes(StandardCharsets.UTF_8))) {
                    throw new UsageException("--cluster: entrant " + (k + 1) + " has an argument that is not UTF-8 ('"
                            + Arg.display(word) + "'): members get arguments as text");
                }
            }
            RemoteJob shipped;
            try { // the files it names travel with it: a command line written for this machine runs on any member
                shipped = RemoteJob.shipping(commands.get(k), 0, new RemoteJob.Success(codes, null));
            } catch (java.io.IOException | IllegalArgumentException e) { // unreadable, or too large to ship
                err.println("scythe race: entrant " + (k + 1) + ": cannot ship a file it names: " + e.getMessage());
                return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
            }
            String program = commands.get(k).get(0);
            entrants.add(new ClusterRace.Entrant((k + 1) + ":" + program.substring(program.lastIndexOf('/') + 1),
                    new RemoteJob(shipped.argv(), shipped.files(), 0, job.grace.toMillis(), null, shipped.success()),
                    null));
        }
        ClusterRace race = ClusterRace.of(entrants, timeout);
        String name = clusterName == null ? FarmConfig.CLUSTER : clusterName;
        dev.scythe.cluster.FarmConfig.quietLogging();
        // A signal interrupts the race (ClusterRace then cancels it on every member); never the join or the leave.
        Thread[] racing = {null};
        Interrupts interrupts = new Interrupts(reason -> {
            synchronized (racing) {
                if (racing[0] != null) {
                    racing[0].interrupt();
                }
            }
        });
        Farm farm;
        try {
            farm = Farm.connect(FarmConfig.joining(cluster).withClusterName(name).coordinator());
        } catch (RuntimeException e) {
            err.println("scythe race: cannot join cluster '" + name + "' at " + String.join(",", cluster) + ": "
                    + e.getMessage());
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        }
        ClusterRace.Result result = null;
        try {
            if (interrupts.status() == 0 && farm.members().isEmpty()) {
                err.println("scythe race: no member of cluster '" + name + "' at " + String.join(",", cluster)
                        + " runs jobs: is scythe member running there, with this --cluster-name?");
                return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
            }
            synchronized (racing) {
                racing[0] = Thread.currentThread();
            }
            if (interrupts.status() == 0) {
                result = race.run(farm);
            }
        } catch (InterruptedException e) {
            // a signal: the race was cancelled on every member
        } catch (IllegalStateException e) { // every member left before the race could start
            err.println("scythe race: " + e.getMessage());
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        } finally {
            synchronized (racing) {
                racing[0] = null;
                Thread.interrupted(); // a signal's interrupt is not for leaving the cluster
            }
            farm.close();
        }
        if (result == null) {
            err.println("scythe race: the race was cancelled on every member");
            return interrupts.status() != 0 ? interrupts.status() : dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        }
        RaceResult r = result.race();
        int status = interrupts.status() != 0 ? interrupts.status()
                : r.won() ? 0 : r.timedOut() ? 124 : EXIT_NO_WINNER;
        if (json) {
            out.println(Json.write(json(r, status, result.members())));
        } else {
            for (RaceResult.Entry e : r.entrants()) {
                if (e.outcome() instanceof dev.scythe.Outcome.MemberLost m) {
                    err.println(e.name() + ": scythe: member " + m.member() + " left the cluster");
                } else if (e.outcome() instanceof dev.scythe.Outcome.SpawnFailed
                        || e.outcome() instanceof dev.scythe.Outcome.StatusLost) {
                    err.print(e.name() + ": ");
                    RunCommand.explain(e.outcome(), e.name(), job, err);
                }
            }
            table(r, result.members(), out);
        }
        return status;
    }

    /** Splits {@code CMD ARGS ::: CMD ARGS} into commands. */
    static List<List<String>> split(List<String> rest) {
        List<List<String>> commands = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (String a : rest) {
            if (a.equals(":::")) {
                commands.add(current);
                current = new ArrayList<>();
            } else {
                current.add(a);
            }
        }
        commands.add(current);
        for (int k = 0; k < commands.size(); k++) {
            if (commands.get(k).isEmpty()) {
                throw new UsageException("race entrant " + (k + 1) + " has no command (commands are separated by "
                        + "':::', for example: scythe race -- z3 goal.smt2 ::: cvc5 goal.smt2)");
            }
        }
        return commands;
    }

    /** The table; with {@code members} (a cluster race), a column of each entrant's member after its name. */
    private static void table(RaceResult r, List<String> members, PrintStream out) {
        int width = Math.max(8, r.entrants().stream().mapToInt(e -> e.name().length()).max().orElse(8));
        int across = members == null ? 0 : Math.max(6, members.stream().mapToInt(String::length).max().orElse(6));
        String row = "%-" + width + "s  " + (members == null ? "%s" : "%-" + across + "s  ")
                + "%-30s %12s %12s  %s%n";
        out.printf(Locale.ROOT, row, "entrant", members == null ? "" : "member", "outcome", "wall", "cpu", "");
        for (RaceResult.Entry e : r.entrants()) {
            boolean won = r.winner().map(w -> w.index() == e.index()).orElse(false);
            out.printf(Locale.ROOT, row, e.name(), members == null ? "" : members.get(e.index()),
                    e.outcome().describe() + (e.started() ? "" : " (not started)"),
                    ms(e.outcome().usage().wall()), ms(e.outcome().usage().cpu()), won ? "<- winner" : "");
        }
        if (r.winner().isPresent()) {
            out.print("winner: " + r.winner().get().name());
            r.preemptionNanos().ifPresent(n -> out.printf(Locale.ROOT, " (losers preempted and reaped %.3f ms "
                    + "after its exit)", n / 1e6));
            out.println();
            byte[] text = r.winner().get().stdout().bytes();
            out.write(text, 0, text.length);
            if (text.length > 0 && text[text.length - 1] != '\n') {
                out.println();
            }
            out.flush();
        } else {
            out.println("no winner" + (r.timedOut() ? " (race timed out)" : r.cancelled() ? " (race cancelled)" : ""));
        }
    }

    private static String ms(Duration d) {
        return String.format(Locale.ROOT, "%.1fms", d.toNanos() / 1e6);
    }

    /** How the race as a whole ended: won, no_winner, timed_out or cancelled. */
    static String end(RaceResult r) {
        return r.won() ? "won" : r.timedOut() ? "timed_out" : r.cancelled() ? "cancelled" : "no_winner";
    }

    Json.Race json(RaceResult r, int status) {
        return json(r, status, null);
    }

    /** {@code members}: with {@code --cluster}, the member each entrant ran on; else null. */
    Json.Race json(RaceResult r, int status, List<String> members) {
        List<Json.Entrant> entrants = new ArrayList<>();
        for (RaceResult.Entry e : r.entrants()) {
            entrants.add(new Json.Entrant(e.index(), e.name(), e.started(), e.succeeded(),
                    e.run().map(RaceResult.Run::pid).orElse(null), Json.Outcome.of(e.outcome()),
                    members == null ? null : members.get(e.index())));
        }
        return new Json.Race(mode, end(r), status, r.winner().map(RaceResult.Entry::name).orElse(null),
                r.winner().map(w -> Json.Stream.of(w.stdout(), base64)).orElse(null),
                r.preemptionNanos().isPresent()
                        ? Durations.millisNumber(Duration.ofNanos(r.preemptionNanos().getAsLong())) : null,
                Durations.millisNumber(r.wall()), entrants);
    }
}
