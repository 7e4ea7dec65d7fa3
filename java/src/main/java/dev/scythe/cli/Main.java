package dev.scythe.cli;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.Output;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Scythe;
import dev.scythe.Supervisor;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;

/** The {@code scythe} command line. */
public final class Main {
    static final int EXIT_INTERNAL = 125;

    static final String USAGE = """
            Usage: scythe run [--timeout D] [--grace D] [--json] [--cpu-limit D] [--dossier DIR]
                              [--containment session|cgroup|best] [--memory-limit SIZE] [--process-limit N]
                              [--stall D (--progress PATH | --progress-output [REGEX] | --heartbeat FILE)...]
                              -- CMD [ARGS...]
                   scythe race [--mode first|best|seq] [--timeout D] [--jobs K] [--success-exit CODES]
                               [--success-match REGEX] [--grace D] [--dossier DIR] [--json]
                               -- CMD ARGS ::: CMD ARGS ::: ...
                   scythe deepen --max-depth N --per-depth-timeout D --progress PATH [--min-depth 1]
                                 [--max-attempts K] [--timeout D] [--json] -- CMD ... {depth} ...
                   scythe evaluate [--corpus DIR] [--timeout D] [--out DIR] [--provers NAME,...]
                   scythe version
                   scythe help

            run      Runs CMD as the leader of its own session, supervised by Scythe's native loop. When it ends,
                     times out or is interrupted, every process left in its session is killed before scythe exits.
              --timeout D   wall-clock limit; then SIGTERM to the whole session, SIGKILL after the grace
              --grace D     delay between SIGTERM and SIGKILL (default 2s; 0 kills at once)
              --json        capture CMD's stdout and stderr (first and last 64 KiB of each) and print one JSON
                            object instead: outcome, exit status, wall and CPU time, max RSS, the output
              --stall D     kill the session when no progress probe saw progress for D (exit 124, "stalled"):
                --progress PATH          any change below directory PATH (inotify, new directories too)
                --progress-walk          watch PATH by walking mtimes instead (network filesystems)
                --progress-output [REGEX] output bytes, or only lines matching the POSIX extended REGEX
                                         (the output is captured: first and last 64 KiB shown at the end)
                --heartbeat FILE         the counter in FILE's first 8 bytes changed (scythe_heartbeat_beat)
              --cpu-limit D CPU time of CMD and the children it reaped; then killed (exit 128+9)
              --containment L  session (default): CMD's own session, killed by process group; cgroup: also its
                            own cgroup leaf, killed with cgroup.kill, which a setsid() or a double fork does not
                            escape (fails if the machine cannot); best: cgroup where possible, else session
              --memory-limit SIZE   memory of the whole job (512M, 2G); then killed, outcome resource_exceeded
              --process-limit N     processes at once in the job; then killed (both imply --containment cgroup)
              --dossier DIR when CMD overruns (timeout, stall, CPU limit), first write DIR/scythe-dossier-PID.txt:
                            every live job's process tree with /proc state (state, wchan, kernel stack, open
                            fds, children), then every JVM thread's stack; then kill
            race     Races the commands (entrants, separated by :::) on one goal.
              --mode M      first: the first success wins and every other entrant's session is killed at once
                            (default); best: all run to the end, the fastest success wins; seq: one after
                            another until one succeeds
              --timeout D   limit for the whole race
              --jobs K      at most K entrants at once; the rest wait their turn
              --success-exit CODES   exit codes that count as success, e.g. 0 or 10,20 (default 0)
              --success-match REGEX  success needs REGEX in the entrant's stdout (^ and $ match at lines);
                            with --success-exit both must hold
              --grace D     delay between SIGTERM and SIGKILL for each entrant (default 2s)
              --dossier DIR as for run, for each entrant that overruns
              --json        print the result as JSON, with the preemption latency
                            Prints a table (entrant, outcome, wall, CPU) and the winner with its stdout.
                            Exit status: 0 someone won; 1 nobody did; 124 the race timed out.
            deepen   Progressive deepening: runs CMD with {depth} replaced by the depth (start: --max-depth) and a
                     stall window of depth x --per-depth-timeout; on a stall kills the session, halves the depth
                     (not below --min-depth) and starts again, so CMD resumes from what it keeps on disk. Stops
                     at the first attempt that does not stall, after --max-attempts (default 20) or --timeout.
                     Prints each attempt and the outcome; exit status 0 on success, 124 if it stalled or timed
                     out, else the last attempt's status. Takes the probe options of run too.
            evaluate Runs every installed prover alone on every corpus problem it takes (DIMACS: minisat, picosat,
                     cadical, cryptominisat; SMT-LIB: z3, cvc5, cvc4, boolector; TPTP: eprover, spass), then the
                     portfolio (a race of them, first definite verdict wins), each under --timeout (default 5s),
                     and checks every answer against the problem's known status (DIR/index.tsv). Prints per
                     solver: problems, solved, timeouts, crashes, wrong answers, PAR-2, also for the virtual best
                     solver;
                     writes --out DIR (default evaluation)/report.html, cactus.png, cactus.svg. Exit 1 on any
                     wrong answer.
            version  Prints the library version and the kernel features it found.

            Durations: a number with a unit ns, us, ms, s, m or h (500ms, 2s, 1m); a bare number is seconds.

            Exit status (as coreutils timeout): CMD's own status; 124 if it timed out; 125 if scythe itself failed;
            126 if CMD could not be executed; 127 if it was not found; 128+N if it was killed by signal N;
            130 or 143 if scythe was interrupted by SIGINT or SIGTERM.
            """;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the CLI and returns its exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? EXIT_INTERNAL : 0;
        }
        try {
            return switch (args[0]) {
                case "run" -> runCommand(List.of(args).subList(1, args.length), out, err);
                case "race" -> RaceCommand.run(List.of(args).subList(1, args.length), out, err);
                case "deepen" -> DeepenCommand.run(List.of(args).subList(1, args.length), out, err);
                case "evaluate" -> EvaluateCommand.run(List.of(args).subList(1, args.length), out, err);
                case "version" -> version(out, err);
                default -> usage(err, "unknown command '" + args[0] + "'");
            };
        } catch (IllegalArgumentException e) {
            return usage(err, e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            err.println("scythe: internal error: " + e);
            return EXIT_INTERNAL;
        }
    }

    private static int usage(PrintStream err, String problem) {
        err.println("scythe: " + problem);
        err.println("Try 'scythe help'.");
        return EXIT_INTERNAL;
    }

    private static int version(PrintStream out, PrintStream err) {
        if (!Scythe.isAvailable()) {
            err.println("scythe: native library unavailable: " + Scythe.unavailabilityCause());
            return EXIT_INTERNAL;
        }
        out.println("scythe " + Scythe.version() + " (capabilities: " + String.join(", ", Scythe.capabilities()) + ")");
        return 0;
    }

    private static int runCommand(List<String> args, PrintStream out, PrintStream err) throws IllegalArgumentException {
        Duration timeout = null, grace = ProcessSpec.DEFAULT_GRACE;
        boolean json = false;
        ProbeOptions probes = new ProbeOptions();
        int i = 0;
        for (; i < args.size(); i++) {
            String a = args.get(i);
            int consumed = probes.parse(args, i);
            if (consumed >= 0) {
                i = consumed;
            } else if (a.equals("--")) {
                i++;
                break;
            } else if (a.equals("--json")) {
                json = true;
            } else if (a.equals("--timeout") || a.equals("--grace")) {
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException(a + " needs a duration, for example " + a + " 2s");
                }
                Duration d = Durations.parse(args.get(++i));
                if (a.equals("--timeout")) {
                    if (d.isZero()) {
                        throw new IllegalArgumentException("--timeout must be positive");
                    }
                    timeout = d;
                } else {
                    grace = d;
                }
            } else if (a.startsWith("-")) {
                throw new IllegalArgumentException("unknown option '" + a + "' for run");
            } else {
                break;
            }
        }
        List<String> command = args.subList(i, args.size());
        if (command.isEmpty()) {
            throw new IllegalArgumentException("run needs a command, for example: scythe run -- z3 goal.smt2");
        }
        // Output as progress needs the output to pass through the loop: captured, and echoed unless --json.
        boolean capture = json || probes.output;
        ProcessSpec.Builder builder = ProcessSpec.builder(command.toArray(String[]::new))
                .stdin(Redirect.inherit())
                .stdout(capture ? Redirect.capture() : Redirect.inherit())
                .stderr(capture ? Redirect.capture() : Redirect.inherit())
                .timeout(timeout)
                .grace(grace);
        probes.applyTo(builder);
        ProcessSpec spec = builder.build();
        AtomicInteger interruptedBy = new AtomicInteger();
        try (Supervisor supervisor = new Supervisor()) {
            Job job = supervisor.start(spec);
            // The job leads its own session, so a terminal's Ctrl-C reaches only us: pass it on to the whole session.
            for (String name : List.of("INT", "TERM", "HUP")) {
                Signal.handle(new Signal(name), sig -> {
                    interruptedBy.compareAndSet(0, sig.getNumber());
                    job.cancel(128 + sig.getNumber());
                });
            }
            Outcome outcome;
            try {
                outcome = job.await();
            } catch (InterruptedException e) {
                job.cancel();
                Thread.currentThread().interrupt();
                return EXIT_INTERNAL;
            }
            int status = interruptedBy.get() != 0 ? 128 + interruptedBy.get() : outcome.exitStatus();
            if (outcome instanceof Outcome.SpawnFailed f && !json) {
                err.println("scythe: " + f.message());
            }
            if (outcome instanceof Outcome.Stalled st && !json) {
                err.println("scythe: stalled: no progress for " + Durations.millis(st.window()) + " ms; session killed");
            }
            job.dossier().ifPresent(d -> err.println("scythe: hang dossier written to " + d));
            if (job.treeWalked()) {
                err.println("scythe: watched " + probes.tree + " by walking its mtimes (asked for, or inotify's watch "
                        + "limit fs.inotify.max_user_watches ran out)");
            }
            if (json) {
                out.println(json(job, outcome, status));
            } else if (capture && !(outcome instanceof Outcome.SpawnFailed)) {
                out.print(job.stdout().text());
                err.print(job.stderr().text());
            }
            return status;
        }
    }

    static String json(Job job, Outcome o, int status) {
        StringJoiner j = new StringJoiner(",", "{", "}");
        StringJoiner cmd = new StringJoiner(",", "[", "]");
        job.spec().command().forEach(c -> cmd.add(Json.quote(c)));
        j.add("\"command\":" + cmd);
        j.add("\"pid\":" + job.pid());
        j.add("\"outcome\":" + Json.quote(switch (o) {
            case Outcome.Success s -> "success";
            case Outcome.Failure f -> "failure";
            case Outcome.Crashed c -> "crashed";
            case Outcome.TimedOut t -> "timed_out";
            case Outcome.Cancelled c -> "cancelled";
            case Outcome.Preempted p -> "preempted";
            case Outcome.Stalled st -> "stalled";
            case Outcome.ResourceExceeded re -> "resource_exceeded";
            case Outcome.SpawnFailed f -> "spawn_failed";
        }));
        j.add("\"exit_status\":" + status);
        switch (o) {
            case Outcome.Failure f -> j.add("\"exit_code\":" + f.exitCode());
            case Outcome.Crashed c -> j.add("\"signal\":" + c.signal());
            case Outcome.TimedOut t -> j.add("\"signal\":" + t.signal());
            case Outcome.Cancelled c -> j.add("\"signal\":" + c.signal()).add("\"reason\":" + c.reason());
            case Outcome.Preempted p -> j.add("\"signal\":" + p.signal()).add("\"winner\":" + p.winner());
            case Outcome.Stalled st -> j.add("\"signal\":" + st.signal()).add("\"stall_window_ms\":"
                    + Durations.millis(st.window()));
            case Outcome.ResourceExceeded re -> j.add("\"signal\":" + re.signal()).add("\"resource\":"
                    + Json.quote(re.resource().name().toLowerCase(java.util.Locale.ROOT)));
            case Outcome.SpawnFailed f -> j.add("\"errno\":" + f.errno()).add("\"message\":" + Json.quote(f.message()));
            case Outcome.Success s -> j.add("\"exit_code\":0");
        }
        if (job.containment() != null) {
            j.add("\"containment\":" + Json.quote(job.containment().name().toLowerCase(java.util.Locale.ROOT)));
        }
        j.add("\"wall_ms\":" + Durations.millis(o.usage().wall()));
        j.add("\"user_cpu_ms\":" + Durations.millis(o.usage().userCpu()));
        j.add("\"sys_cpu_ms\":" + Durations.millis(o.usage().systemCpu()));
        j.add("\"max_rss_kib\":" + o.usage().maxRssKib());
        if (!(o instanceof Outcome.SpawnFailed)) {
            j.add("\"stdout\":" + output(job.stdout()));
            j.add("\"stderr\":" + output(job.stderr()));
        }
        return j.toString();
    }

    private static String output(Output out) {
        return "{\"text\":" + Json.quote(out.text()) + ",\"bytes\":" + out.total() + ",\"dropped\":" + out.dropped()
                + "}";
    }
}
