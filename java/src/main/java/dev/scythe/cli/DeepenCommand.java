package dev.scythe.cli;

import dev.scythe.Deepening;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/** {@code scythe deepen}: progressive deepening from the command line. */
final class DeepenCommand {
    private DeepenCommand() {}

    static int run(List<String> args, PrintStream out, PrintStream err) {
        Integer maxDepth = null, minDepth = 1, maxAttempts = null;
        Duration perDepth = null, timeout = null;
        boolean json = false;
        ProbeOptions probes = new ProbeOptions();
        int i = 0;
        for (; i < args.size(); i++) {
            String a = args.get(i);
            int consumed = probes.parse(args, i);
            if (consumed >= 0) {
                i = consumed;
                continue;
            }
            if (a.equals("--")) {
                i++;
                break;
            }
            switch (a) {
                case "--max-depth" -> maxDepth = positiveInt(ProbeOptions.value(args, ++i, a), a);
                case "--min-depth" -> minDepth = positiveInt(ProbeOptions.value(args, ++i, a), a);
                case "--max-attempts" -> maxAttempts = positiveInt(ProbeOptions.value(args, ++i, a), a);
                case "--per-depth-timeout" -> perDepth = Durations.parse(ProbeOptions.value(args, ++i, a));
                case "--timeout" -> timeout = Durations.parse(ProbeOptions.value(args, ++i, a));
                case "--json" -> json = true;
                default -> throw new IllegalArgumentException("unknown option '" + a + "' for deepen");
            }
        }
        List<String> command = args.subList(i, args.size());
        if (command.isEmpty()) {
            throw new IllegalArgumentException("deepen needs a command with " + Deepening.PLACEHOLDER
                    + ", for example: scythe deepen --max-depth 1000 --per-depth-timeout 1s --progress proofs -- "
                    + "kontrol prove --depth {depth}");
        }
        if (maxDepth == null || perDepth == null) {
            throw new IllegalArgumentException("deepen needs --max-depth N and --per-depth-timeout D");
        }
        if (!probes.anyProbe()) {
            throw new IllegalArgumentException("deepen needs a progress probe: --progress PATH (or "
                    + "--progress-output [REGEX], --heartbeat FILE)");
        }
        if (probes.stall != null) {
            throw new IllegalArgumentException("deepen sets each attempt's stall window itself (depth x "
                    + "--per-depth-timeout); drop --stall");
        }
        probes.stall = perDepth; // a placeholder: every attempt replaces it
        ProcessSpec.Builder template = ProcessSpec.builder(command.toArray(String[]::new));
        probes.applyTo(template);
        Deepening.Builder d = Deepening.builder(template.build()).startDepth(maxDepth).minDepth(minDepth)
                .perDepthTimeout(perDepth).timeout(timeout);
        if (maxAttempts != null) {
            d.maxAttempts(maxAttempts);
        }
        Deepening deepening = d.build();
        Deepening.Result r;
        try (Supervisor supervisor = new Supervisor()) {
            r = deepening.run(supervisor);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_INTERNAL;
        }
        if (json) {
            StringJoiner attempts = new StringJoiner(",", "[", "]");
            for (Deepening.Attempt a : r.attempts()) {
                attempts.add("{\"attempt\":" + a.number() + ",\"depth\":" + a.depth() + ",\"window_ms\":"
                        + Durations.millis(a.window()) + ",\"outcome\":" + Json.quote(RaceCommand.outcomeName(
                                a.outcome())) + ",\"wall_ms\":" + Durations.millis(a.wall()) + "}");
            }
            out.println("{\"succeeded\":" + r.succeeded() + ",\"outcome\":" + Json.quote(RaceCommand.outcomeName(
                    r.outcome())) + ",\"wall_ms\":" + Durations.millis(r.wall()) + ",\"attempts\":" + attempts + "}");
        } else {
            for (Deepening.Attempt a : r.attempts()) {
                out.printf(Locale.ROOT, "attempt %d: depth %d, stall window %s -> %s after %s%n", a.number(),
                        a.depth(), ms(a.window()), RaceCommand.outcomeName(a.outcome()), ms(a.wall()));
            }
            out.println("outcome: " + RaceCommand.outcomeName(r.outcome()) + " after " + r.attempts().size()
                    + " attempt(s), " + ms(r.wall()));
            if (!r.attempts().isEmpty()) {
                out.print(r.attempts().get(r.attempts().size() - 1).stdout().text());
            }
        }
        if (r.succeeded()) {
            return 0;
        }
        return r.outcome() instanceof Outcome.Stalled || r.outcome() instanceof Outcome.TimedOut ? 124
                : r.outcome().exitStatus();
    }

    private static int positiveInt(String v, String option) {
        try {
            int n = Integer.parseInt(v);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " must be a whole number >= 1, got '" + v + "'");
    }

    private static String ms(Duration d) {
        return String.format(Locale.ROOT, "%.0fms", d.toNanos() / 1e6);
    }
}
