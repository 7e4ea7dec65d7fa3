package dev.scythe.cli;

import dev.scythe.Containment;
import dev.scythe.ProcessSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The options that shape each job, shared by run, race and deepen as one argument group ("Each job:" in their help):
 * grace, containment, limits and hang dossiers. Each value is checked by its option's type as it is read.
 */
final class JobOptions {
    @Option(names = "--grace", paramLabel = "D", converter = Durations.Finite.class, description = {
        "delay between SIGTERM and SIGKILL when a job is ended (default 2s; 0 sends SIGKILL at once)"})
    Duration grace = ProcessSpec.DEFAULT_GRACE;

    @Option(names = "--containment", paramLabel = "L", converter = Level.class, completionCandidates = Level.class,
            description = {
                "session: the job's own session, killed by process group;",
                "cgroup: also its own cgroup leaf, killed with cgroup.kill, which setsid() or a double fork does not "
                        + "escape (an error if this machine cannot);",
                "best (default): cgroup where the machine allows, else session"})
    Containment containment = Containment.BEST;

    @Option(names = "--memory-limit", paramLabel = "SIZE", converter = Numbers.Size.class, description = {
        "memory of the whole job (512M, 2G; binary units k M G T; 0: none); then the job is killed: outcome "
                + "resource_exceeded, exit status 122. Needs the cgroup level (not --containment session)"})
    long memoryLimit;

    @Option(names = "--process-limit", paramLabel = "N", converter = Numbers.Processes.class, description = {
        "processes at once in the job (1 to " + Numbers.MAX_PROCESSES + "; 0: none); a fork beyond it fails, and the "
                + "job is killed: exit status 122"})
    long processLimit;

    @Option(names = "--cpu-limit", paramLabel = "D", converter = Durations.Limit.class, description = {
        "CPU time of the job's leader and the children it reaped (0: none); then the job is killed: exit status 122"})
    Duration cpuLimit;

    @Option(names = "--dossier", paramLabel = "DIR", converter = PathOptions.Directory.class, description = {
        "when a job overruns (timeout, stall, CPU limit), first write DIR/scythe-dossier-PID.txt: every live job's "
                + "process tree with /proc state (state, wchan, kernel stack, open fds), then every JVM thread's "
                + "stack; then kill. DIR must exist"})
    Path dossier;

    /** The type of {@code --containment}, and its completions. */
    static final class Level implements ITypeConverter<Containment>, Iterable<String> {
        @Override
        public Containment convert(String v) {
            return switch (v) {
                case "session" -> Containment.SESSION;
                case "cgroup" -> Containment.CGROUP;
                case "best" -> Containment.BEST;
                default -> throw new TypeConversionException("must be session, cgroup or best, got '" + v + "'");
            };
        }

        @Override
        public java.util.Iterator<String> iterator() {
            return List.of("session", "cgroup", "best").iterator();
        }
    }

    /** Checks the options against each other. */
    void check() {
        if ((memoryLimit > 0 || processLimit > 0) && containment == Containment.SESSION) {
            throw new UsageException((memoryLimit > 0 ? "--memory-limit" : "--process-limit")
                    + " needs the cgroup level: drop --containment session (or give cgroup or best)");
        }
    }

    /** Checks, then applies everything to a job's spec. */
    ProcessSpec.Builder applyTo(ProcessSpec.Builder b) {
        check();
        return b.grace(grace).cpuLimit(cpuLimit).dossier(dossier).containment(containment).memoryLimit(memoryLimit)
                .processLimit(processLimit);
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
