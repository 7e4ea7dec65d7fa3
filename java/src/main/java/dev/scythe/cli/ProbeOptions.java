package dev.scythe.cli;

import dev.scythe.ProcessSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The progress-probe, limit and dossier options shared by {@code run} and {@code deepen}. */
final class ProbeOptions {
    Duration stall, cpuLimit;
    Path tree, heartbeat, dossier;
    dev.scythe.Containment containment = dev.scythe.Containment.BEST;
    long memoryLimit, processLimit;
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
            case "--containment" -> containment = switch (value(args, ++i, a)) {
                case "session" -> dev.scythe.Containment.SESSION;
                case "cgroup" -> dev.scythe.Containment.CGROUP;
                case "best" -> dev.scythe.Containment.BEST;
                default -> throw new IllegalArgumentException("--containment must be session, cgroup or best, got '"
                        + args.get(i) + "'");
            };
            case "--memory-limit" -> memoryLimit = bytes(value(args, ++i, a));
            case "--process-limit" -> {
                String v = value(args, ++i, a);
                try {
                    processLimit = Long.parseLong(v);
                } catch (NumberFormatException e) {
                    processLimit = -1;
                }
                if (processLimit < 1) {
                    throw new IllegalArgumentException("--process-limit must be a whole number >= 1, got '" + v + "'");
                }
            }
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

    /** Sizes read like 512M, 2G, 64k or a plain number of bytes. */
    static long bytes(String v) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)([kKmMgG]?)").matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid size '" + v + "': use bytes or a number with k, M or G, "
                    + "for example 512M");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2).toLowerCase(java.util.Locale.ROOT)) {
            case "k" -> n << 10;
            case "m" -> n << 20;
            case "g" -> n << 30;
            default -> n;
        };
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

    void applyTo(ProcessSpec.Builder b) {
        if (stall == null && anyProbe()) {
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
        if ((memoryLimit > 0 || processLimit > 0) && containment == dev.scythe.Containment.SESSION) {
            containment = dev.scythe.Containment.CGROUP; // limits need the cgroup level: ask for it
        }
        b.containment(containment).memoryLimit(memoryLimit).processLimit(processLimit);
    }
}
