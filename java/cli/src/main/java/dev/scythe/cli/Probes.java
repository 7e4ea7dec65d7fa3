package dev.scythe.cli;

import dev.scythe.ProcessSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Stack;
import picocli.CommandLine.IParameterPreprocessor;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The progress probes that watch a job for a stall, as one argument group: deepen's attempts, and run's stall window
 * ({@link WithStall}). Options are listed in their {@code order}, the window first.
 */
class Probes {
    @Option(names = "--progress", paramLabel = "DIR", order = 2, converter = PathOptions.Directory.class,
            description = {"progress: any change below the existing directory DIR (inotify; new subdirectories are "
                    + "watched too)"})
    Path tree;

    @Option(names = "--progress-walk", arity = "0", order = 3, preprocessor = Subcommand.Flag.class, description = {
        "watch --progress DIR by walking mtimes instead (network filesystems)"})
    boolean walk;

    /** Null if not given; empty for any output byte; else a regex that lines must match. */
    @Option(names = "--progress-output", paramLabel = "REGEX", arity = "0..1", order = 4, converter = Regex.class,
            preprocessor = NoValueBeforeAnOption.class, description = {
                "progress: any output byte, or only lines of stdout or stderr matching the POSIX extended REGEX "
                        + "(grep -E; ^ and $ match at line ends). The output is captured and written out when the "
                        + "job ends"})
    String output;

    @Option(names = "--heartbeat", paramLabel = "FILE", order = 5, converter = PathOptions.FileInDirectory.class,
            description = {"progress: the counter in FILE's first 8 bytes changed (a job bumps it with "
                    + "scythe_heartbeat_beat; FILE is created in an existing directory)"})
    Path heartbeat;

    /** run's stall window: {@code --stall} and the probes it needs. */
    static final class WithStall extends Probes {
        @Option(names = "--stall", paramLabel = "D", order = 1, converter = Durations.Positive.class, description = {
            "kill the job when no progress probe saw progress for D (exit status 124, outcome stalled); needs at "
                    + "least one probe:"})
        Duration stall;
    }

    /**
     * {@code --progress-output [REGEX]} takes the next argument as its REGEX unless that starts with "--" (an option,
     * known or not, or the "--" before the command); {@code --progress-output=REGEX} always takes its REGEX.
     */
    static final class NoValueBeforeAnOption implements IParameterPreprocessor {
        @Override
        public boolean preprocess(Stack<String> args, CommandSpec command, ArgSpec option, Map<String, Object> info) {
            boolean attached = !" ".equals(info.get("separator"));
            if (!attached && !args.isEmpty() && args.peek().startsWith("--")) {
                option.setValue("");
                return true;
            }
            return false;
        }
    }

    boolean any() {
        return tree != null || heartbeat != null || output != null;
    }

    /** Checks the probes against the stall window that needs them. */
    void check(Duration stall) {
        if (stall == null && any()) {
            throw new UsageException("--progress, --progress-output and --heartbeat need --stall D");
        }
        if (stall != null && !any()) {
            throw new UsageException("--stall needs a progress probe: --progress DIR, --progress-output [REGEX] "
                    + "or --heartbeat FILE");
        }
        if (walk && tree == null) {
            throw new UsageException("--progress-walk needs --progress DIR");
        }
    }

    /** Applies the probes (not a window: run sets its own after {@link #check}, deepen's attempts set theirs). */
    ProcessSpec.Builder applyTo(ProcessSpec.Builder b) {
        if (walk && tree == null) {
            throw new UsageException("--progress-walk needs --progress DIR");
        }
        if (tree != null) {
            if (walk) {
                b.progressTreeByWalking(tree);
            } else {
                b.progressTree(tree);
            }
        }
        if (output != null) {
            if (!output.isEmpty()) {
                b.progressOutput(output);
            } else {
                b.progressOutput();
            }
        }
        if (heartbeat != null) {
            b.heartbeat(heartbeat);
        }
        return b;
    }
}
