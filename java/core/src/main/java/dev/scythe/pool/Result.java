package dev.scythe.pool;

import java.time.Duration;

/**
 * The one outcome of a submitted task: the worker's {@link Response}, or a {@link Failure} that says why there is
 * none. A cancel racing a response gives exactly one of the two.
 *
 * @param <R> the response type
 */
public sealed interface Result<R> {

    /** The task's name ({@link TaskKind#taskName}). */
    String task();

    /** Wall time from the submission to this result. */
    Duration wall();

    /** The worker's response; {@code worker} names the worker that gave it ("w2#5": slot 2, its fifth start). */
    record Response<R>(String task, R value, String worker, int pid, Duration wall) implements Result<R> {}

    /** No response. */
    sealed interface Failure<R> extends Result<R> {
        /** One line for logs and the CLI. */
        String message();
    }

    /**
     * The worker died with this request pending (exit code or signal, -1 / 0 when not applicable; the tail of its
     * stderr, at most a few KiB). Every request pending on that worker fails at once.
     */
    record WorkerDied<R>(String task, String worker, int pid, int exitCode, int signal, String stderrTail,
                         Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "worker " + worker + " (pid " + pid + ") died: " + (signal > 0 ? "signal " + signal
                    : "exit " + exitCode) + (stderrTail.isBlank() ? "" : "; stderr ends: " + lastLine(stderrTail));
        }
    }

    /** The request's deadline passed. */
    record TimedOut<R>(String task, Duration deadline, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "no response within " + deadline;
        }
    }

    /** The worker reported no progress on the request for a whole stall window. */
    record Stalled<R>(String task, Duration window, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "no progress for " + window;
        }
    }

    /** Cancelled before a response arrived. */
    record Cancelled<R>(String task, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "cancelled";
        }
    }

    /** The worker broke the protocol (it was replaced; every request pending on it failed so). */
    record ProtocolError<R>(String task, String worker, String detail, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "protocol error from worker " + worker + ": " + detail;
        }
    }

    /** The request could not be encoded in the pool's protocol. */
    record EncodeError<R>(String task, String detail, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "cannot encode the request: " + detail;
        }
    }

    /** The task kind said the task is no longer valid ({@link TaskKind#requestOf} was empty). */
    record Dropped<R>(String task, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "dropped: no longer valid";
        }
    }

    /** The task already killed this many workers; it is not sent to another. */
    record Quarantined<R>(String task, int workersKilled, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return "quarantined: it killed " + workersKilled + " workers";
        }
    }

    /** No worker can serve it: the pool was closed, or every worker slot is failing (a crash loop hit its cap). */
    record Unavailable<R>(String task, String reason, Duration wall) implements Failure<R> {
        @Override
        public String message() {
            return reason;
        }
    }

    private static String lastLine(String s) {
        String t = s.strip();
        int nl = t.lastIndexOf('\n');
        return nl < 0 ? t : t.substring(nl + 1);
    }
}
