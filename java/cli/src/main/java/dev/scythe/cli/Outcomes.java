package dev.scythe.cli;

import dev.scythe.Outcome;
import java.util.Locale;

/** The names of outcomes, as JSON ({@link Json.Outcome}) and tables spell them. */
final class Outcomes {
    private Outcomes() {}

    /** The outcome's kind, as JSON and tables spell it. */
    static String kind(Outcome o) {
        return switch (o) {
            case Outcome.Success s -> "success";
            case Outcome.Failure f -> "failure";
            case Outcome.Crashed c -> "crashed";
            case Outcome.TimedOut t -> "timed_out";
            case Outcome.Cancelled c -> "cancelled";
            case Outcome.Preempted p -> "preempted";
            case Outcome.Stalled st -> "stalled";
            case Outcome.ResourceExceeded re -> "resource_exceeded";
            case Outcome.StatusLost l -> "status_lost";
            case Outcome.SpawnFailed f -> "spawn_failed";
        };
    }

    /** The kind with its one detail, for tables: {@code failure (exit 1)}, {@code crashed (signal 11)}. */
    static String describe(Outcome o) {
        String detail = switch (o) {
            case Outcome.Failure f -> "exit " + f.exitCode();
            case Outcome.Crashed c -> "signal " + c.signal() + (c.coreDumped() ? ", core dumped" : "");
            case Outcome.ResourceExceeded re -> resource(re.resource());
            case Outcome.SpawnFailed f -> "errno " + f.errno();
            default -> null;
        };
        return detail == null ? kind(o) : kind(o) + " (" + detail + ")";
    }

    static String resource(Outcome.Resource r) {
        return r.name().toLowerCase(Locale.ROOT);
    }
}
