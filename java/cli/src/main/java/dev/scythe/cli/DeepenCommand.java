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
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code scythe deepen}: progressive deepening from the command line. */
@Command(name = "deepen",
        customSynopsis = "scythe deepen --max-depth N --per-depth-timeout D PROBE [OPTIONS] [--] CMD ... {depth} ...",
        description = {"Progressive deepening: on a stall, halve the depth and resume.", "",
            "Runs CMD with {depth} replaced by the depth (first --max-depth) and a stall window of depth x "
                    + "--per-depth-timeout; when an attempt stalls, kills it, halves the depth (not below "
                    + "--min-depth) and starts again, so CMD resumes from what it keeps on disk. Stops at the first "
                    + "attempt that does not stall, after --max-attempts or at --timeout. Prints each attempt and "
                    + "the outcome.", "",
            "PROBE is one or more of --progress DIR, --progress-output [REGEX], --heartbeat FILE."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:an attempt ended without stalling, and succeeded",
            "124:every attempt stalled, or --timeout passed",
            "122:a limit ended the last attempt",
            "125:a bad option (the message names it), or scythe failed",
            "126, 127:CMD could not be executed, or was not found",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: the attempt was killed first",
            "otherwise:the last attempt's own status (its exit code, or 128+N for signal N)"},
        footer = Subcommand.DURATIONS)
final class DeepenCommand extends Subcommand {
    @Option(names = "--max-depth", paramLabel = "N", converter = Numbers.Depth.class, description = {
        "the first attempt's depth (1 to 2147483647)"})
    private Long maxDepth;

    @Option(names = "--per-depth-timeout", paramLabel = "D", converter = Durations.Positive.class, description = {
        "S: an attempt at depth d gets a stall window of d x S"})
    private Duration perDepth;

    @Option(names = "--min-depth", paramLabel = "N", converter = Numbers.Depth.class, description = {
        "the depth is never halved below N (default 1)"})
    private long minDepth = 1;

    @Option(names = "--max-attempts", paramLabel = "K", converter = Numbers.Attempts.class, description = {
        "at most K attempts (1 to 1000; default 20)"})
    private Long maxAttempts;

    @Option(names = "--timeout", paramLabel = "D", converter = Durations.Limit.class, description = {
        "limit for all attempts together (0 or inf: none)"})
    private Duration timeout;

    @Option(names = "--json", arity = "0", preprocessor = Flag.class, description = {
        "print the attempts and the outcome as one JSON object (docs/cli.md)"})
    private boolean json;

    @ArgGroup(validate = false, exclusive = false, heading = "%nEach job:%n")
    private JobOptions job = new JobOptions();

    @ArgGroup(validate = false, exclusive = false, heading = "%nProgress probes (at least one):%n")
    private Probes probes = new Probes();

    @Parameters(paramLabel = "CMD", description = "the command and its arguments, {depth} among them")
    private List<String> command = List.of();

    DeepenCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
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
        if (!probes.any()) {
            throw new UsageException("deepen needs a progress probe: --progress DIR, --progress-output [REGEX] or "
                    + "--heartbeat FILE");
        }
        CancelToken token = CancelToken.create();
        ProcessSpec.Builder template = ProcessSpec.builderOfBytes(bytes(command)).token(token);
        probes.applyTo(template); // probes only: each attempt gets its own window, depth x --per-depth-timeout
        job.applyTo(template);
        Deepening.Builder d = Deepening.builder(template.build()).startDepth(Math.toIntExact(maxDepth))
                .minDepth(Math.toIntExact(minDepth)).perDepthTimeout(perDepth).timeout(timeout);
        if (maxAttempts != null) {
            d.maxAttempts(Math.toIntExact(maxAttempts));
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
                : r.succeeded() ? 0 : r.outcome().exitStatus();
        if (json) {
            List<Json.Attempt> attempts = new ArrayList<>();
            for (Deepening.Attempt a : r.attempts()) {
                attempts.add(new Json.Attempt(a.number(), a.depth(), Durations.millisNumber(a.window()),
                        Json.Outcome.of(a.outcome())));
            }
            out.println(Json.write(new Json.Deepen(r.succeeded(), status, Json.Outcome.of(r.outcome()),
                    Durations.millisNumber(r.wall()), attempts)));
        } else {
            RunCommand.explain(r.outcome(), Arg.display(command.get(0)), job, err);
            for (Deepening.Attempt a : r.attempts()) {
                out.printf(Locale.ROOT, "attempt %d: depth %d, stall window %s -> %s after %s%n", a.number(),
                        a.depth(), ms(a.window()), a.outcome().describe(), ms(a.wall()));
            }
            out.println("outcome: " + r.outcome().describe() + " after " + r.attempts().size()
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
