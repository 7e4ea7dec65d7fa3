package dev.scythe.cli;

import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.Output;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The pieces every command's JSON shares (docs/cli.md): one outcome object, one output object, and the names of
 * outcomes used in human-readable output too.
 */
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

    /** The one outcome object: every key always present, null where it does not apply. */
    static Map<String, Object> outcome(Outcome o) {
        Map<String, Object> j = Json.object();
        j.put("kind", kind(o));
        j.put("exit_status", o.exitStatus());
        j.put("exit_code", o.exitCode() >= 0 ? o.exitCode() : null);
        j.put("signal", o.signal() > 0 ? o.signal() : null);
        j.put("core_dumped", o instanceof Outcome.Crashed c && c.coreDumped());
        j.put("resource", o instanceof Outcome.ResourceExceeded re ? resource(re.resource()) : null);
        j.put("cancel_reason", o instanceof Outcome.Cancelled c ? c.reason() : null);
        j.put("winner", o instanceof Outcome.Preempted p ? p.winner() : null);
        j.put("stall_window_ms", o instanceof Outcome.Stalled st ? Durations.millisNumber(st.window()) : null);
        j.put("errno", o instanceof Outcome.SpawnFailed f ? f.errno() : null);
        j.put("message", o instanceof Outcome.SpawnFailed f ? f.message() : null);
        j.put("wall_ms", Durations.millisNumber(o.usage().wall()));
        j.put("user_cpu_ms", Durations.millisNumber(o.usage().userCpu()));
        j.put("sys_cpu_ms", Durations.millisNumber(o.usage().systemCpu()));
        j.put("cpu_ms", Durations.millisNumber(o.usage().cpu()));
        j.put("max_rss_kib", o.usage().maxRssKib());
        return j;
    }

    /**
     * A captured stream: its text (UTF-8, invalid bytes as U+FFFD; a marker where bytes were dropped), its size,
     * and with {@code base64} the kept bytes exactly (head then tail; {@code head_bytes} says where the tail starts).
     */
    static Map<String, Object> output(Output out, boolean base64) {
        Map<String, Object> j = Json.object();
        j.put("text", out.text());
        j.put("bytes", out.total());
        j.put("dropped", out.dropped());
        j.put("complete", out.complete());
        if (base64) {
            j.put("base64", Base64.getEncoder().encodeToString(out.bytes()));
            j.put("head_bytes", (long) out.head().length);
        }
        return j;
    }

    /** The command as JSON strings (arguments that are not UTF-8 show U+FFFD; the bytes went to the program). */
    static List<String> command(Job job) {
        return job.spec().command();
    }
}
