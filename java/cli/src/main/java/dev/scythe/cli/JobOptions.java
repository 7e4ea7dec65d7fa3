package dev.scythe.cli;

import dev.scythe.Containment;
import dev.scythe.OsStrings;
import dev.scythe.ProcessSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The options that shape each job, shared by run, race and deepen: grace, containment, limits, hang dossiers and
 * (for run and deepen) the stall window with its progress probes. Each value is checked as it is read, with a
 * message naming the option; paths keep their bytes.
 */
final class JobOptions {
    /** The kernel's largest pid_max (PID_MAX_LIMIT): no job can hold more processes. */
    static final long MAX_PROCESSES = 4_194_304;

    Duration grace = ProcessSpec.DEFAULT_GRACE, cpuLimit, stall;
    Containment containment = Containment.BEST;
    boolean containmentGiven;
    long memoryLimit, processLimit;
    Path dossier, tree, heartbeat;
    boolean walk, output;
    String outputRegex;

    /** Declares the options every job takes. */
    Options declare(Options o) {
        return o.heading("Each job:")
                .value("--grace", "D", "delay between SIGTERM and SIGKILL when a job is ended (default 2s;\n"
                        + "0 sends SIGKILL at once)", v -> grace = Durations.finite("--grace", v.text()))
                .value("--containment", "L", "session: the job's own session, killed by process group;\n"
                        + "cgroup: also its own cgroup leaf, killed with cgroup.kill, which\n"
                        + "setsid() or a double fork does not escape (an error if this machine\n"
                        + "cannot); best (default): cgroup where the machine allows, else session",
                        v -> containment(v.text()))
                .value("--memory-limit", "SIZE", "memory of the whole job (512M, 2G; binary units k M G T; 0: none);\n"
                        + "then the job is killed: outcome resource_exceeded, exit status 122.\n"
                        + "Needs the cgroup level (not --containment session)",
                        v -> memoryLimit = Numbers.size("--memory-limit", v.text()))
                .value("--process-limit", "N", "processes at once in the job (1 to " + MAX_PROCESSES + "; 0: none);\n"
                        + "a fork beyond it fails, and the job is killed: exit status 122",
                        v -> processLimit = Numbers.whole("--process-limit", v.text(), 0, MAX_PROCESSES))
                .value("--cpu-limit", "D", "CPU time of the job's leader and the children it reaped (0: none);\n"
                        + "then the job is killed: exit status 122",
                        v -> cpuLimit = Durations.limit("--cpu-limit", v.text()))
                .value("--dossier", "DIR", "when a job overruns (timeout, stall, CPU limit), first write\n"
                        + "DIR/scythe-dossier-PID.txt: every live job's process tree with /proc\n"
                        + "state (state, wchan, kernel stack, open fds), then every JVM thread's\n"
                        + "stack; then kill. DIR must exist",
                        v -> dossier = directory("--dossier", v));
    }

    /** Declares the stall window and its progress probes. */
    Options declareProbes(Options o, boolean withStall) {
        if (withStall) {
            o.value("--stall", "D", "kill the job when no progress probe saw progress for D (exit status 124,\n"
                    + "outcome stalled); needs at least one probe:",
                    v -> stall = Durations.positive("--stall", v.text()));
        }
        return o.value("--progress", "DIR", "progress: any change below the existing directory DIR (inotify;\n"
                        + "new subdirectories are watched too)", v -> tree = directory("--progress", v))
                .flag("--progress-walk", "watch --progress DIR by walking mtimes instead (network filesystems)",
                        () -> walk = true)
                .optionalValue("--progress-output", "REGEX", "progress: any output byte, or only lines of stdout or\n"
                        + "stderr matching the POSIX extended REGEX (grep -E; ^ and $ match at line\n"
                        + "ends). The output is captured and written out when the job ends",
                        v -> {
                            output = true;
                            outputRegex = v == null ? null : Regex.check("--progress-output", v.text());
                        })
                .value("--heartbeat", "FILE", "progress: the counter in FILE's first 8 bytes changed (a job bumps it\n"
                        + "with scythe_heartbeat_beat; FILE is created in an existing directory)",
                        v -> heartbeat = heartbeatFile(v));
    }

    private void containment(String v) {
        containment = switch (v) {
            case "session" -> Containment.SESSION;
            case "cgroup" -> Containment.CGROUP;
            case "best" -> Containment.BEST;
            default -> throw new UsageException("--containment: must be session, cgroup or best, got '" + v + "'");
        };
        containmentGiven = true;
    }

    static Path directory(String option, Arg v) {
        Path p = path(option, v);
        if (!Files.isDirectory(p)) {
            throw new UsageException(option + ": no directory '" + v.display() + "'"
                    + (Files.exists(p) ? " (it is not a directory)" : ""));
        }
        return p;
    }

    private static Path heartbeatFile(Arg v) {
        Path p = path("--heartbeat", v);
        if (Files.isDirectory(p)) {
            throw new UsageException("--heartbeat: '" + v.display() + "' is a directory; give a file");
        }
        if (p.getParent() == null || !Files.isDirectory(p.getParent())) {
            throw new UsageException("--heartbeat: no directory for '" + v.display() + "'");
        }
        return p;
    }

    static Path path(String option, Arg v) {
        try {
            return OsStrings.path(v.bytes());
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + ": " + e.getMessage());
        }
    }

    boolean anyProbe() {
        return tree != null || heartbeat != null || output;
    }

    /** Checks the options against each other. */
    void check() {
        if (stall == null && anyProbe()) {
            throw new UsageException("--progress, --progress-output and --heartbeat need --stall D");
        }
        if (stall != null && !anyProbe()) {
            throw new UsageException("--stall needs a progress probe: --progress DIR, --progress-output [REGEX] "
                    + "or --heartbeat FILE");
        }
        if (walk && tree == null) {
            throw new UsageException("--progress-walk needs --progress DIR");
        }
        if ((memoryLimit > 0 || processLimit > 0) && containment == Containment.SESSION) {
            throw new UsageException((memoryLimit > 0 ? "--memory-limit" : "--process-limit")
                    + " needs the cgroup level: drop --containment session (or give cgroup or best)");
        }
    }

    /** Applies everything to a job's spec. */
    ProcessSpec.Builder applyTo(ProcessSpec.Builder b) {
        check();
        b.grace(grace).cpuLimit(cpuLimit).dossier(dossier).containment(containment).memoryLimit(memoryLimit)
                .processLimit(processLimit).stall(stall);
        if (tree != null) {
            if (walk) {
                b.progressTreeByWalking(tree);
            } else {
                b.progressTree(tree);
            }
        }
        if (output) {
            if (outputRegex != null) {
                b.progressOutput(outputRegex);
            } else {
                b.progressOutput();
            }
        }
        if (heartbeat != null) {
            b.heartbeat(heartbeat);
        }
        return b;
    }

    /** The one line a run prints on stderr when a limit ended the job, naming the limit. */
    String limitMessage(dev.scythe.Outcome.ResourceExceeded re) {
        return switch (re.resource()) {
            case MEMORY -> "memory limit of " + Numbers.bytes(memoryLimit) + " exceeded";
            case PROCESSES -> "process limit of " + processLimit + " reached";
            case CPU -> "CPU time limit of " + Durations.millis(cpuLimit) + " ms exceeded";
        };
    }
}
