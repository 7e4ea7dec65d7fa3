package dev.scythe.cli;

import dev.scythe.ProcessSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The progress-probe, limit and dossier options shared by {@code run} and {@code deepen}. */
final class ProbeOptions {
    Duration stall, cpuLimit;
    Path tree, heartbeat, dossier;
    boolean output, walk;
    String outputRegex;

    /**
     * Consumes the option at {@code args[i]} if it is a probe option; returns the index of its last argument, or -1
     * if it is not one.
     */
    int parse(List<String> args, int i) {
        String a = args.get(i);
        switch (a) {
            case "--stall" -> {
                stall = Durations.parse(value(args, ++i, a));
                if (stall.isZero()) {
                    throw new IllegalArgumentException("--stall must be positive");
                }
            }
            case "--cpu-limit" -> {
                cpuLimit = Durations.parse(value(args, ++i, a));
                if (cpuLimit.isZero()) {
                    throw new IllegalArgumentException("--cpu-limit must be positive");
                }
            }
            case "--progress" -> tree = Path.of(value(args, ++i, a));
            case "--progress-walk" -> walk = true;
            case "--heartbeat" -> heartbeat = Path.of(value(args, ++i, a));
            case "--dossier" -> dossier = Path.of(value(args, ++i, a));
            case "--progress-output" -> {
                output = true;
                // The regex is optional: it is the next argument unless that is another option or "--".
                if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                    outputRegex = args.get(++i);
                }
            }
            default -> {
                return -1;
            }
        }
        return i;
    }

    static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args.get(i);
    }

    boolean anyProbe() {
        return tree != null || heartbeat != null || output;
    }

    void applyTo(ProcessSpec.Builder b, boolean needWindow) {
        if (needWindow && stall == null && anyProbe()) {
            throw new IllegalArgumentException("--progress, --progress-output and --heartbeat need --stall D");
        }
        if (stall != null && !anyProbe()) {
            throw new IllegalArgumentException("--stall needs a progress probe: --progress PATH, "
                    + "--progress-output [REGEX] or --heartbeat FILE");
        }
        if (walk && tree == null) {
            throw new IllegalArgumentException("--progress-walk needs --progress PATH");
        }
        b.stall(stall);
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
        b.cpuLimit(cpuLimit);
        b.dossier(dossier);
    }
}
