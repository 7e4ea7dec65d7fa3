package dev.scythe.cli;

import dev.scythe.CancelToken;
import dev.scythe.Deepening;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code scythe deepen}: progressive deepening from the command line. */
final class DeepenCommand extends Command {
    private static final String SYNOPSIS = "scythe deepen --max-depth N --per-depth-timeout D PROBE [OPTIONS] [--] CMD ... "
            + "{depth} ...";
    private static final String ABOUT = """
            Progressive deepening: runs CMD with {depth} replaced by the depth (first --max-depth) and a stall
            window of depth x --per-depth-timeout; when an attempt stalls, kills it, halves the depth (not below
            --min-depth) and starts again, so CMD resumes from what it keeps on disk. Stops at the first attempt
            that does not stall, after --max-attempts or at --timeout. Prints each attempt and the outcome.
            PROBE is one or more of --progress DIR, --progress-output [REGEX], --heartbeat FILE.""";

    private Integer maxDepth, minDepth = 1, maxAttempts;
    private Duration perDepth, timeout;
    private boolean json;
    private final JobOptions job = new JobOptions();

    DeepenCommand() {
        super(SYNOPSIS, ABOUT);
    }

    @Override
    Options options() {
        Options o = new Options("deepen")
                .value("--max-depth", "N", "the first attempt's depth (1 to 2147483647)",
                        v -> maxDepth = Numbers.wholeInt("--max-depth", v.text(), 1, Integer.MAX_VALUE))
                .value("--per-depth-timeout", "D", "S: an attempt at depth d gets a stall window of d x S",
                        v -> perDepth = Durations.positive("--per-depth-timeout", v.text()))
                .value("--min-depth", "N", "the depth is never halved below N (default 1)",
                        v -> minDepth = Numbers.wholeInt("--min-depth", v.text(), 1, Integer.MAX_VALUE))
                .value("--max-attempts", "K", "at most K attempts (1 to 1000; default 20)",
                        v -> maxAttempts = Numbers.wholeInt("--max-attempts", v.text(), 1, 1000))
                .value("--timeout", "D", "limit for all attempts together (0 or inf: none)",
                        v -> timeout = Durations.limit("--timeout", v.text()))
                .flag("--json", "print the attempts and the outcome as one JSON object (docs/cli.md)",
                        () -> json = true);
        job.declare(o);
        o.heading("Progress probes (at least one):");
        return job.declareProbes(o, false);
    }

    @Override
    String statuses() {
        return """
                Exit status:
                  0               an attempt ended without stalling, and succeeded
                  124             every attempt stalled, or --timeout passed
                  122             a limit ended the last attempt
                  125             a bad option (the message names it), or scythe failed
                  126, 127        CMD could not be executed, or was not found
                  130, 143, 129   scythe got SIGINT, SIGTERM or SIGHUP: the attempt was killed first
                  otherwise       the last attempt's own status (its exit code, or 128+N for signal N)
                """;
    }

    @Override
    int run(List<Arg> args, PrintStream out, PrintStream err) {
        List<Arg> command = options().parse(args);
        if (command.isEmpty()) {
            throw new UsageException("deepen needs a command with " + Deepening.PLACEHOLDER + ", for example: "
                    + "scythe deepen --max-depth 1000 --per-depth-timeout 1s --progress proofs -- kontrol prove "
                    + "--depth {depth}");
        }
        if (maxDepth == null || perDepth == null) {
            throw new UsageException("deepen needs --max-depth N and --per-depth-timeout D");
        }
        if (minDepth > maxDepth) {
            throw new UsageException("--min-depth " + minDepth + " is above --max-depth " + maxDepth);
        }
        if (!job.anyProbe()) {
            throw new UsageException("deepen needs a progress probe: --progress DIR, --progress-output [REGEX] or "
                    + "--heartbeat FILE");
        }
        job.stall = perDepth; // a placeholder: every attempt sets its own window
        CancelToken token = CancelToken.create();
        ProcessSpec.Builder template = ProcessSpec.builderOfBytes(command.stream().map(Arg::bytes).toList())
                .token(token);
        job.applyTo(template);
        Deepening.Builder d = Deepening.builder(template.build()).startDepth(maxDepth).minDepth(minDepth)
                .perDepthTimeout(perDepth).timeout(timeout);
        if (maxAttempts != null) {
            d.maxAttempts(maxAttempts);
        }
        Deepening deepening = d.build();
        Deepening.Result r;
        Interrupts interrupts;
        try (Supervisor supervisor = new Supervisor()) {
            interrupts = new Interrupts(token::cancel);
            r = deepening.run(supervisor);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.STATUS_SCYTHE_FAILED;
        }
        int status = interrupts.status() != 0 ? interrupts.status()
                : r.succeeded() ? 0 : RunCommand.status(r.outcome());
        if (json) {
            List<Json.Attempt> attempts = new ArrayList<>();
            for (Deepening.Attempt a : r.attempts()) {
                attempts.add(new Json.Attempt(a.number(), a.depth(), Durations.millisNumber(a.window()),
                        Json.Outcome.of(a.outcome())));
            }
            out.println(Json.write(new Json.Deepen(r.succeeded(), status, Json.Outcome.of(r.outcome()),
                    Durations.millisNumber(r.wall()), attempts)));
        } else {
            RunCommand.explain(r.outcome(), command.get(0).display(), job, err);
            for (Deepening.Attempt a : r.attempts()) {
                out.printf(Locale.ROOT, "attempt %d: depth %d, stall window %s -> %s after %s%n", a.number(),
                        a.depth(), ms(a.window()), Outcomes.describe(a.outcome()), ms(a.wall()));
            }
            out.println("outcome: " + Outcomes.describe(r.outcome()) + " after " + r.attempts().size()
                    + " attempt(s), " + ms(r.wall()));
            if (!r.attempts().isEmpty()) {
                byte[] text = r.attempts().get(r.attempts().size() - 1).stdout().bytes();
                out.write(text, 0, text.length);
                out.flush();
            }
        }
        return status;
    }

    private static String ms(Duration d) {
        return String.format(Locale.ROOT, "%.0fms", d.toNanos() / 1e6);
    }
}
