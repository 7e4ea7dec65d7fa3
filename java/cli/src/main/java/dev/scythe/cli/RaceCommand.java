package dev.scythe.cli;

import dev.scythe.CancelToken;
import dev.scythe.OsStrings;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
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
                    + "job options below. Prints a table (entrant, outcome, wall, CPU), the winner and its stdout."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:an entrant won",
            "1:nobody won",
            "124:the race's --timeout passed before anyone won",
            "125:a bad option (the message names it), or scythe failed",
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
            table(result, out);
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

    private static void table(RaceResult r, PrintStream out) {
        int width = Math.max(8, r.entrants().stream().mapToInt(e -> e.name().length()).max().orElse(8));
        String row = "%-" + width + "s  %-30s %12s %12s  %s%n";
        out.printf(Locale.ROOT, row, "entrant", "outcome", "wall", "cpu", "");
        for (RaceResult.Entry e : r.entrants()) {
            boolean won = r.winner().map(w -> w.index() == e.index()).orElse(false);
            out.printf(Locale.ROOT, row, e.name(), e.outcome().describe() + (e.started() ? "" : " (not started)"),
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
        List<Json.Entrant> entrants = new ArrayList<>();
        for (RaceResult.Entry e : r.entrants()) {
            entrants.add(new Json.Entrant(e.index(), e.name(), e.started(), e.succeeded(),
                    e.run().map(RaceResult.Run::pid).orElse(null), Json.Outcome.of(e.outcome())));
        }
        return new Json.Race(mode, end(r), status, r.winner().map(RaceResult.Entry::name).orElse(null),
                r.winner().map(w -> Json.Stream.of(w.stdout(), base64)).orElse(null),
                r.preemptionNanos().isPresent()
                        ? Durations.millisNumber(Duration.ofNanos(r.preemptionNanos().getAsLong())) : null,
                Durations.millisNumber(r.wall()), entrants);
    }
}
