package dev.scythe;

import java.time.Duration;

/**
 * How a job ended. A job that was cancelled or timed out is never reported as a failure, and a job that could not
 * start is never reported as having run.
 */
public sealed interface Outcome {

    /** Wall time, CPU time and memory; {@link Usage#NONE} for a job that never started. */
    Usage usage();

    /**
     * The outcome as one int, as shells and coreutils {@code timeout} report it: the exit code; 128 + n for a job
     * ended by signal n; 124 for a timeout; 127 when the program was not found, 126 when it could not be executed.
     */
    int exitStatus();

    /** Exit status 0. */
    record Success(Usage usage) implements Outcome {
        public int exitStatus() {
            return 0;
        }
    }

    /** Exited on its own with a nonzero status. */
    record Failure(int exitCode, Usage usage) implements Outcome {
        public int exitStatus() {
            return exitCode;
        }
    }

    /** Killed by a signal that Scythe did not send (a crash, the OOM killer, someone else's kill). */
    record Crashed(int signal, boolean coreDumped, Usage usage) implements Outcome {
        public int exitStatus() {
            return 128 + signal;
        }
    }

    /** Its wall-clock limit passed; Scythe killed its session ({@code signal} is what finally ended the leader). */
    record TimedOut(int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return 124;
        }
    }

    /** Cancelled through {@link Job#cancel} or a {@link CancelToken}, with that reason code. */
    record Cancelled(int reason, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return signal > 0 ? 128 + signal : 125;
        }
    }

    /**
     * Lost a race: another entrant (index {@code winner} in its race, -1 if unknown) claimed the race's token first,
     * and Scythe ended this job's session ({@code signal}: what finally ended the leader; 0 if it never started).
     */
    record Preempted(int winner, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return signal > 0 ? 128 + signal : 125;
        }
    }

    /**
     * No progress probe reported progress for a whole stall window; Scythe killed the session. Distinct from
     * {@link TimedOut}: a stalled job was stuck, a timed-out one merely slow.
     */
    record Stalled(Duration window, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return 124;
        }
    }

    /** The resources a limit can name. */
    enum Resource { CPU, MEMORY, PROCESSES }

    /** A resource limit ended the job ({@code signal}: what finally ended the leader). */
    record ResourceExceeded(Resource resource, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return signal > 0 ? 128 + signal : 125;
        }
    }

    /** The process could not be started; {@code errno} is the positive error number. */
    record SpawnFailed(int errno, String message) implements Outcome {
        public Usage usage() {
            return Usage.NONE;
        }

        public int exitStatus() {
            return errno == Errno.ENOENT ? 127 : 126;
        }
    }

    /** The errno values an outcome may carry, for readable comparisons. */
    final class Errno {
        public static final int ENOENT = 2;
        public static final int EACCES = 13;
        public static final int ENOEXEC = 8;
        public static final int ECANCELED = 125;

        private Errno() {}
    }
}
