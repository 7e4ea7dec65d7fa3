package dev.scythe.cli;

import dev.scythe.CancelToken;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.SuccessCriterion;
import dev.scythe.Supervisor;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import sun.misc.Signal;

/** {@code scythe race}: a portfolio of commands separated by {@code :::}. */
final class RaceCommand {
    static final int EXIT_NO_WINNER = 1;

    private RaceCommand() {}

    static int run(List<String> args, PrintStream out, PrintStream err) {
        Race.Mode mode = Race.Mode.FIRST_SUCCESS;
        Duration timeout = null, grace = ProcessSpec.DEFAULT_GRACE;
        int jobs = Integer.MAX_VALUE;
        Set<Integer> exitCodes = null;
        Pattern match = null;
        boolean json = false;
        Path dossier = null;
        int i = 0;
        for (; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                i++;
                break;
            }
            switch (a) {
                case "--json" -> json = true;
                case "--mode" -> mode = switch (value(args, ++i, a)) {
                    case "first" -> Race.Mode.FIRST_SUCCESS;
                    case "best" -> Race.Mode.BEST_OF;
                    case "seq" -> Race.Mode.SEQUENTIAL;
                    default -> throw new IllegalArgumentException("--mode must be first, best or seq, got '"
                            + args.get(i) + "'");
                };
                case "--timeout" -> timeout = positive(Durations.parse(value(args, ++i, a)), a);
                case "--grace" -> grace = Durations.parse(value(args, ++i, a));
                case "--jobs" -> jobs = jobs(value(args, ++i, a));
                case "--success-exit" -> exitCodes = codes(value(args, ++i, a));
                case "--success-match" -> match = regex(value(args, ++i, a));
                case "--dossier" -> dossier = Path.of(value(args, ++i, a));
                default -> throw new IllegalArgumentException("unknown option '" + a + "' for race");
            }
        }
        List<List<String>> commands = split(args.subList(i, args.size()));
        List<SuccessCriterion> criteria = new ArrayList<>();
        if (exitCodes != null || match == null) {
            criteria.add(new SuccessCriterion.ExitCodes(exitCodes == null ? Set.of(0) : exitCodes));
        }
        if (match != null) {
            criteria.add(new SuccessCriterion.OutputMatches(1, match));
        }
        CancelToken token = CancelToken.create();
        Race.Builder race = Race.builder().mode(mode).timeout(timeout).token(token)
                .success(criteria.size() == 1 ? criteria.get(0) : new SuccessCriterion.AllOf(criteria));
        if (jobs != Integer.MAX_VALUE) {
            race.maxConcurrent(jobs);
        }
        for (int k = 0; k < commands.size(); k++) {
            List<String> cmd = commands.get(k);
            race.entrant((k + 1) + ":" + Path.of(cmd.get(0)).getFileName(),
                    ProcessSpec.builder(cmd.toArray(String[]::new)).grace(grace).dossier(dossier).build());
        }
        AtomicInteger interruptedBy = new AtomicInteger();
        RaceResult result;
        try (Supervisor supervisor = new Supervisor()) {
            for (String name : List.of("INT", "TERM", "HUP")) {
                Signal.handle(new Signal(name), sig -> {
                    interruptedBy.compareAndSet(0, sig.getNumber());
                    token.cancel(128 + sig.getNumber());
                });
            }
            result = race.build().run(supervisor);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_INTERNAL;
        }
        if (json) {
            out.println(json(result));
        } else {
            table(result, out);
        }
        if (interruptedBy.get() != 0) {
            return 128 + interruptedBy.get();
        }
        return result.won() ? 0 : result.timedOut() ? 124 : EXIT_NO_WINNER;
    }

    private static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args.get(i);
    }

    private static Duration positive(Duration d, String option) {
        if (d.isZero()) {
            throw new IllegalArgumentException(option + " must be positive");
        }
        return d;
    }

    private static int jobs(String v) {
        try {
            int k = Integer.parseInt(v);
            if (k >= 1) {
                return k;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--jobs must be a whole number >= 1, got '" + v + "'");
    }

    private static Set<Integer> codes(String v) {
        Set<Integer> out = new HashSet<>();
        for (String c : v.split(",")) {
            try {
                int n = Integer.parseInt(c.trim());
                if (n < 0 || n > 255) {
                    throw new NumberFormatException();
                }
                out.add(n);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--success-exit takes exit codes 0..255 separated by commas, got '"
                        + v + "'");
            }
        }
        return out;
    }

    private static Pattern regex(String v) {
        try {
            return Pattern.compile(v, Pattern.MULTILINE);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("--success-match: invalid regex '" + v + "': " + e.getDescription());
        }
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
                throw new IllegalArgumentException("race entrant " + (k + 1) + " has no command (commands are "
                        + "separated by ':::', for example: scythe race -- z3 goal.smt2 ::: cvc5 goal.smt2)");
            }
        }
        return commands;
    }

    static String outcomeName(Outcome o) {
        return switch (o) {
            case Outcome.Success s -> "success";
            case Outcome.Failure f -> "failure(" + f.exitCode() + ")";
            case Outcome.Crashed c -> "crashed(sig " + c.signal() + ")";
            case Outcome.TimedOut t -> "timed_out";
            case Outcome.Cancelled c -> "cancelled";
            case Outcome.Preempted p -> "preempted";
            case Outcome.Stalled st -> "stalled";
            case Outcome.ResourceExceeded re -> "resource_exceeded(" + re.resource().name().toLowerCase(java.util.Locale.ROOT) + ")";
            case Outcome.SpawnFailed f -> "spawn_failed";
        };
    }

    private static void table(RaceResult r, PrintStream out) {
        int width = Math.max(8, r.entrants().stream().mapToInt(e -> e.name().length()).max().orElse(8));
        String row = "%-" + width + "s  %-28s %12s %12s  %s%n";
        out.printf(Locale.ROOT, row, "entrant", "outcome", "wall", "cpu", "");
        for (RaceResult.Entry e : r.entrants()) {
            boolean won = r.winner().map(w -> w.index() == e.index()).orElse(false);
            out.printf(Locale.ROOT, row, e.name(), e.started() ? outcomeName(e.outcome()) : outcomeName(e.outcome())
                    + " (not started)", ms(e.outcome().usage().wall()), ms(e.outcome().usage().cpu()),
                    won ? "<- winner" : "");
        }
        if (r.winner().isPresent()) {
            out.print("winner: " + r.winner().get().name());
            r.preemptionNanos().ifPresent(n -> out.printf(Locale.ROOT, " (losers preempted and reaped %.3f ms "
                    + "after its exit)", n / 1e6));
            out.println();
            String text = r.winner().get().stdout().text();
            if (!text.isEmpty()) {
                out.print(text.endsWith("\n") ? text : text + "\n");
            }
        } else {
            out.println("no winner" + (r.timedOut() ? " (race timed out)" : r.cancelled() ? " (race cancelled)" : ""));
        }
    }

    private static String ms(Duration d) {
        return String.format(Locale.ROOT, "%.1fms", d.toNanos() / 1e6);
    }

    static String json(RaceResult r) {
        StringJoiner entrants = new StringJoiner(",", "[", "]");
        for (RaceResult.Entry e : r.entrants()) {
            entrants.add("{\"name\":" + Json.quote(e.name()) + ",\"outcome\":" + Json.quote(outcomeName(e.outcome()))
                    + ",\"exit_status\":" + e.outcome().exitStatus() + ",\"succeeded\":" + e.succeeded()
                    + ",\"started\":" + e.started() + ",\"wall_ms\":" + Durations.millis(e.outcome().usage().wall())
                    + ",\"cpu_ms\":" + Durations.millis(e.outcome().usage().cpu()) + "}");
        }
        return "{\"mode\":" + Json.quote(r.mode().name().toLowerCase(Locale.ROOT))
                + ",\"winner\":" + r.winner().map(w -> Json.quote(w.name())).orElse("null")
                + ",\"winner_stdout\":" + r.winner().map(w -> Json.quote(w.stdout().text())).orElse("null")
                + ",\"timed_out\":" + r.timedOut() + ",\"cancelled\":" + r.cancelled()
                + ",\"preemption_latency_ms\":" + (r.preemptionNanos().isPresent()
                        ? String.format(Locale.ROOT, "%.3f", r.preemptionNanos().getAsLong() / 1e6) : "null")
                + ",\"wall_ms\":" + Durations.millis(r.wall()) + ",\"entrants\":" + entrants + "}";
    }
}
