package dev.scythe;

import java.time.Duration;

/**
 * How a job ended. A job that was cancelled or timed out is never reported as a failure, a job that could not
 * start is never reported as having run, and a job whose exit status could not be collected is never reported as a
 * success.
 *
 * <p>Every outcome also says how the leader itself ended, when it ran: {@link #exitCode()} if it exited,
 * {@link #signal()} if a signal killed it. A job ended by a limit keeps both, so a leader that exited 2 when its
 * fork failed under a process limit still says 2.
 */
public sealed interface Outcome {

    /** Exit status for a timeout or a stall, as coreutils {@code timeout}. */
    int STATUS_TIMED_OUT = 124;
    /** Exit status when Scythe itself failed (bad options, a lost status, an internal error), as coreutils. */
    int STATUS_SCYTHE_FAILED = 125;
    /** Exit status when the program exists but could not be executed, as coreutils and shells. */
    int STATUS_CANNOT_EXECUTE = 126;
    /** Exit status when the program was not found, as coreutils and shells. */
    int STATUS_NOT_FOUND = 127;
    /**
     * Exit status when a resource limit (memory, processes, CPU time) ended the job: its own, so that it is never
     * mistaken for a timeout (124), a failure of Scythe (125) or a signal sent to Scythe (130, 143).
     */
    int STATUS_RESOURCE_EXCEEDED = 122;
    /**
     * Exit status of a job cancelled or preempted that no signal of Scythe's ended: it never ran, or it exited just
     * as the cancel was accepted. Not 125, which says that Scythe failed.
     */
    int STATUS_CANCELLED = 121;

    /** Wall time, CPU time and memory; {@link Usage#NONE} for a job that never started. */
    Usage usage();

    /**
     * The outcome as one int, as shells and coreutils {@code timeout} report it: the exit code; 128 + n for a job
     * that crashed on signal n, or that Scythe ended with signal n; 124 for a timeout or a stall; 122 for a resource
     * limit; 121 for a cancel that needed no signal; 127 when the program was not found, 126 when it could not be
     * executed; 125 when its status was lost.
     */
    int exitStatus();

    /** The leader's own exit code if it exited (whatever then ended the job), else -1. */
    int exitCode();

    /** The signal that killed the leader, or 0 if it exited on its own or never ran. */
    int signal();

    /**
     * The outcome's kind as one word, as the CLI's JSON, its tables and the evaluation's results database spell it:
     * success, failure, crashed, timed_out, cancelled, preempted, stalled, resource_exceeded, status_lost,
     * spawn_failed, member_lost.
     */
    default String kind() {
        return switch (this) {
            case Success s -> "success";
            case Failure f -> "failure";
            case Crashed c -> "crashed";
            case TimedOut t -> "timed_out";
            case Cancelled c -> "cancelled";
            case Preempted p -> "preempted";
            case Stalled st -> "stalled";
            case ResourceExceeded re -> "resource_exceeded";
            case StatusLost l -> "status_lost";
            case SpawnFailed f -> "spawn_failed";
            case MemberLost m -> "member_lost";
        };
    }

    /** The kind with its one detail, for tables: {@code failure (exit 1)}, {@code crashed (signal 11)}. */
    default String describe() {
        String detail = switch (this) {
            case Failure f -> "exit " + f.exitCode();
            case Crashed c -> "signal " + c.signal() + (c.coreDumped() ? ", core dumped" : "");
            case ResourceExceeded re -> re.resource().name().toLowerCase(java.util.Locale.ROOT);
            case SpawnFailed f -> "errno " + f.errno();
            case MemberLost m -> m.member();
            default -> null;
        };
        return detail == null ? kind() : kind() + " (" + detail + ")";
    }

    /** Exit status 0. */
    record Success(Usage usage) implements Outcome {
        public int exitStatus() {
            return 0;
        }

        public int exitCode() {
            return 0;
        }

        public int signal() {
            return 0;
        }
    }

    /** Exited on its own with a nonzero status. */
    record Failure(int exitCode, Usage usage) implements Outcome {
        public int exitStatus() {
            return exitCode;
        }

        public int signal() {
            return 0;
        }
    }

    /** Killed by a signal that Scythe did not send (a crash, the OOM killer, someone else's kill). */
    record Crashed(int signal, boolean coreDumped, Usage usage) implements Outcome {
        public int exitStatus() {
            return 128 + signal;
        }

        public int exitCode() {
            return -1;
        }
    }

    /** Its wall-clock limit passed; Scythe killed its session. */
    record TimedOut(int exitCode, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return STATUS_TIMED_OUT;
        }
    }

    /**
     * Cancelled through {@link Job#cancel} or a {@link CancelToken}, with that reason code. A leader that exited just
     * as the cancel was accepted keeps its {@code exitCode}.
     */
    record Cancelled(CancelToken.Reason reason, int exitCode, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return signal > 0 ? 128 + signal : STATUS_CANCELLED;
        }
    }

    /**
     * Lost a race: another entrant (index {@code winner} in its race, -1 if unknown) claimed the race's token first,
     * and Scythe ended this job's session (or never started it).
     */
    record Preempted(int winner, int exitCode, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return signal > 0 ? 128 + signal : STATUS_CANCELLED;
        }
    }

    /**
     * No progress probe reported progress for a whole stall window; Scythe killed the session. Distinct from
     * {@link TimedOut}: a stalled job was stuck, a timed-out one merely slow.
     */
    record Stalled(Duration window, int exitCode, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return STATUS_TIMED_OUT;
        }
    }

    /** The resources a limit can name. */
    enum Resource { CPU, MEMORY, PROCESSES }

    /** A resource limit ended the job; Scythe killed what was left of it. */
    record ResourceExceeded(Resource resource, int exitCode, int signal, Usage usage) implements Outcome {
        public int exitStatus() {
            return STATUS_RESOURCE_EXCEEDED;
        }
    }

    /**
     * The leader ended but its exit status could not be collected: another party reaped it (a process that set
     * SIGCHLD to SIG_IGN before Scythe could undo it, or a foreign {@code waitpid(-1)}). Never a success.
     */
    record StatusLost(Usage usage) implements Outcome {
        public int exitStatus() {
            return STATUS_SCYTHE_FAILED;
        }

        public int exitCode() {
            return -1;
        }

        public int signal() {
            return 0;
        }
    }

    /** The process could not be started; {@code errno} is the positive error number. */
    record SpawnFailed(int errno, String message) implements Outcome {
        public Usage usage() {
            return Usage.NONE;
        }

        /** 127 not found, 126 not executable; 125 when the machine cannot give what was asked: that is Scythe's. */
        public int exitStatus() {
            return unsupported() ? STATUS_SCYTHE_FAILED : errno == Errno.ENOENT ? STATUS_NOT_FOUND
                    : STATUS_CANNOT_EXECUTE;
        }

        /**
         * True when the machine cannot give what the spec asked for (the cgroup level, a memory or process limit),
         * as libscythe says: not a failure of the program, nor of Scythe.
         */
        public boolean unsupported() {
            return Scythe.isAvailable() && dev.scythe.ffi.scythe_h.scythe_error_is_unsupported(-errno) != 0;
        }

        public int exitCode() {
            return -1;
        }

        public int signal() {
            return 0;
        }
    }

    /**
     * The job ran, or was sent to run, on another machine of a cluster (the scythe-cluster module), and that machine
     * left the cluster before it reported how the job ended: killed, hung past the heartbeat timeout, or cut off.
     * What became of the job is unknown; never a success nor a failure of the program. Its processes die with the
     * member (the guard) when the member died.
     *
     * @param member the member's address, as {@code host:port}
     */
    record MemberLost(String member, Usage usage) implements Outcome {
        /** Scythe could not say how the job ended: 125, as for a lost status. */
        public int exitStatus() {
            return STATUS_SCYTHE_FAILED;
        }

        public int exitCode() {
            return -1;
        }

        public int signal() {
            return 0;
        }
    }

    /** The errno values an outcome may carry, for readable comparisons. */
    final class Errno {
        public static final int ENOENT = 2;
        public static final int EACCES = 13;
        public static final int ENOEXEC = 8;
        public static final int ECANCELED = 125;
        public static final int ESRCH = 3;
        public static final int EPIPE = 32;
        public static final int EALREADY = 114;
        public static final int ENOTSUP = 95;

        private Errno() {}
    }
}
