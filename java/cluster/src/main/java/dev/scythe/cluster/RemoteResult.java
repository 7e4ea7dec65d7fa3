package dev.scythe.cluster;

import dev.scythe.CancelToken;
import dev.scythe.Outcome;
import dev.scythe.Usage;
import java.io.Serializable;
import java.time.Duration;

/**
 * How a job ended on a member, as it travels back: the outcome in plain fields, the process's times on the
 * member's {@link System#nanoTime()} clock (comparable between members on one machine only), its output and the
 * file it was asked to keep.
 *
 * @param member  the member's address, {@code host:port}
 * @param claimed this job won its race's claim (the cluster-wide compare-and-set)
 */
public record RemoteResult(String member, Wire outcome, int pid, long startNanos, long exitNanos, long reapedNanos,
                           String stdout, String stderr, byte[] kept, boolean succeeded, boolean claimed)
        implements Serializable {

    /** The outcome, rebuilt. */
    public Outcome toOutcome() {
        return outcome.toOutcome();
    }

    /** The job's process as a race reports it, if it started; its output as text, kept whole. */
    public java.util.Optional<dev.scythe.RaceResult.Run> run() {
        return started() ? java.util.Optional.of(new dev.scythe.RaceResult.Run(pid, startNanos, exitNanos, reapedNanos,
                text(stdout), text(stderr))) : java.util.Optional.empty();
    }

    private static dev.scythe.Output text(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return new dev.scythe.Output(b, new byte[0], b.length, 0);
    }

    /** True when the job's process started on the member. */
    public boolean started() {
        return pid > 0;
    }

    /** An {@link Outcome} in serializable fields; {@code kind} is {@link Outcome#kind()}. */
    public record Wire(String kind, int exitCode, int signal, boolean coreDumped, String detail, int number,
                       long wallNanos, long userNanos, long sysNanos, long maxRssKib) implements Serializable {

        static Wire of(Outcome o) {
            Usage u = o.usage();
            String detail = switch (o) {
                case Outcome.ResourceExceeded re -> re.resource().name();
                case Outcome.SpawnFailed f -> f.message();
                case Outcome.MemberLost m -> m.member();
                default -> null;
            };
            int number = switch (o) {
                case Outcome.Cancelled c -> c.reason().code();
                case Outcome.Preempted p -> p.winner();
                case Outcome.SpawnFailed f -> f.errno();
                case Outcome.Stalled st -> (int) Math.min(Integer.MAX_VALUE, st.window().toMillis());
                default -> 0;
            };
            return new Wire(o.kind(), o.exitCode(), o.signal(), o instanceof Outcome.Crashed c && c.coreDumped(),
                    detail, number, u.wall().toNanos(), u.userCpu().toNanos(), u.systemCpu().toNanos(), u.maxRssKib());
        }

        Outcome toOutcome() {
            Usage u = new Usage(Duration.ofNanos(wallNanos), Duration.ofNanos(userNanos), Duration.ofNanos(sysNanos),
                    maxRssKib);
            return switch (kind) {
                case "success" -> new Outcome.Success(u);
                case "failure" -> new Outcome.Failure(exitCode, u);
                case "crashed" -> new Outcome.Crashed(signal, coreDumped, u);
                case "timed_out" -> new Outcome.TimedOut(exitCode, signal, u);
                case "cancelled" -> new Outcome.Cancelled(CancelToken.Reason.of(number), exitCode, signal, u);
                case "preempted" -> new Outcome.Preempted(number, exitCode, signal, u);
                case "stalled" -> new Outcome.Stalled(Duration.ofMillis(number), exitCode, signal, u);
                case "resource_exceeded" -> new Outcome.ResourceExceeded(Outcome.Resource.valueOf(detail), exitCode,
                        signal, u);
                case "status_lost" -> new Outcome.StatusLost(u);
                case "spawn_failed" -> new Outcome.SpawnFailed(number, detail);
                case "member_lost" -> new Outcome.MemberLost(detail, u);
                default -> throw new IllegalStateException("an outcome this version does not know: " + kind);
            };
        }
    }
}
