package dev.scythe.cli;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code scythe run}: one command, supervised, with coreutils {@code timeout}'s exit statuses. */
@Command(name = "run", customSynopsis = "scythe run [OPTIONS] [--] CMD [ARGS...]",
        description = {"Runs one command, supervised (exit statuses as coreutils timeout).", "",
            "Runs CMD as the leader of its own session (and, by default, its own cgroup leaf), supervised by Scythe's "
                    + "native loop. When it ends, times out, hits a limit or scythe is interrupted, everything left "
                    + "in its session (and cgroup) is killed before scythe exits. CMD's arguments reach it byte for "
                    + "byte."},
        exitCodeListHeading = "%nExit status (as coreutils timeout, docs/cli.md):%n",
        exitCodeList = {
            "CMD's own:CMD exited on its own",
            "124:the timeout passed, or the job stalled",
            "122:a limit ended the job (memory, processes, CPU time); one line on stderr says which, and --json "
                    + "keeps CMD's own exit code and signal",
            "125:scythe itself failed: a bad option (the message names it), a machine that cannot give what was "
                    + "asked, or CMD's status was lost",
            "126:CMD was found but could not be executed",
            "127:CMD was not found",
            "128+N:CMD was killed by signal N (one Scythe did not send)",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: the job was killed first"},
        footer = Subcommand.DURATIONS)
final class RunCommand extends Subcommand {
    @Option(names = "--timeout", paramLabel = "D", converter = Durations.Limit.class, description = {
        "wall-clock limit (0 or inf: none); then SIGTERM to the whole job, SIGKILL after the grace; exit status 124"})
    private Duration timeout;

    @Option(names = "--json", arity = "0", preprocessor = Flag.class, description = {"capture CMD's stdout and "
            + "stderr (first and last 64 KiB of each) and print one JSON object instead (docs/cli.md): command, "
            + "outcome, output"})
    private boolean json;

    @Option(names = "--base64", arity = "0", preprocessor = Flag.class, description = {
        "with --json: also give each stream's kept bytes exactly, in base64"})
    private boolean base64;

    @ArgGroup(validate = false, exclusive = false, heading = "%nEach job:%n")
    private JobOptions job = new JobOptions();

    @ArgGroup(validate = false, exclusive = false, heading = "%nStall window:%n")
    private Probes.WithStall probes = new Probes.WithStall();

    @Parameters(paramLabel = "CMD", description = "the command and its arguments")
    private List<String> command = List.of();

    RunCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    @Override
    public Integer call() {
        if (command.isEmpty()) {
            throw new UsageException("run needs a command, for example: scythe run -- z3 goal.smt2");
        }
        if (base64 && !json) {
            throw new UsageException("--base64 needs --json");
        }
        // Output as progress needs the output to pass through the loop: captured, and written out at the end.
        boolean capture = json || probes.output != null;
        ProcessSpec.Builder builder = ProcessSpec.builderOfBytes(bytes(command))
                .stdin(Redirect.inherit())
                .stdout(capture ? Redirect.capture() : Redirect.inherit())
                .stderr(capture ? Redirect.capture() : Redirect.inherit())
                .timeout(timeout);
        probes.check(probes.stall);
        probes.applyTo(builder.stall(probes.stall));
        ProcessSpec spec = job.applyTo(builder).build();
        try (Supervisor supervisor = new Supervisor()) {
            Job j = supervisor.start(spec);
            Interrupts interrupts = new Interrupts(j::cancel);
            Outcome outcome;
            try {
                outcome = j.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Outcome.STATUS_SCYTHE_FAILED;
            }
            int status = interrupts.status() != 0 ? interrupts.status() : outcome.exitStatus();
            if (!json) {
                explain(outcome, Arg.display(command.get(0)), job, err);
            }
            j.dossier().ifPresent(d -> err.println("scythe: hang dossier written to " + d));
            if (j.treeWalked()) {
                err.println("scythe: watched " + probes.tree + " by walking its mtimes (asked for, or inotify's watch "
                        + "limit fs.inotify.max_user_watches ran out)");
            }
            if (json) {
                boolean ran = !(outcome instanceof Outcome.SpawnFailed);
                out.println(Json.write(new Json.Run(j.spec().command(), j.pid() > 0 ? j.pid() : null,
                        j.containment() == null ? null : j.containment().name().toLowerCase(Locale.ROOT), status,
                        Json.Outcome.of(outcome), ran ? Json.Stream.of(j.stdout(), base64) : null,
                        ran ? Json.Stream.of(j.stderr(), base64) : null)));
            } else if (capture && !(outcome instanceof Outcome.SpawnFailed)) {
                out.write(j.stdout().bytes(), 0, j.stdout().bytes().length); // bytes as CMD wrote them
                out.flush();
                err.write(j.stderr().bytes(), 0, j.stderr().bytes().length);
                err.flush();
            }
            return status;
        }
    }

    /** The one line on stderr for outcomes whose status alone does not say enough. */
    static void explain(Outcome outcome, String program, JobOptions job, PrintStream err) {
        switch (outcome) {
            case Outcome.SpawnFailed f -> err.println("scythe: " + f.message());
            case Outcome.Stalled st -> err.println("scythe: stalled: no progress for " + Durations.millis(st.window())
                    + " ms; job killed");
            case Outcome.ResourceExceeded re -> err.println("scythe: " + job.limitMessage(re) + "; job killed"
                    + leader(re));
            case Outcome.StatusLost l -> err.println("scythe: the exit status of " + program + " was lost: another "
                    + "party reaped it (was SIGCHLD ignored?)");
            default -> { }
        }
    }

    private static String leader(Outcome o) {
        return o.exitCode() >= 0 ? " (" + "its leader exited " + o.exitCode() + ")"
                : o.signal() > 0 ? " (its leader was killed by signal " + o.signal() + ")" : "";
    }
}
