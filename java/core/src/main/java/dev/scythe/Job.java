package dev.scythe;

import dev.scythe.ffi.scythe_h;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A started job: the leader of its own session, supervised by one {@link Supervisor}.
 *
 * <p>{@link #onExit()} completes on the supervisor's loop thread once the leader was reaped, everything left in its
 * session killed, and its output drained. Dependent stages added without {@code *Async} run on that thread and must
 * not block it.
 */
public final class Job {
    private final long id;
    private final ProcessSpec spec;
    private final CompletableFuture<Outcome> exit = new CompletableFuture<>();
    private MemorySegment handle; // guarded by this; null before spawn returned and after release
    private boolean released;      // guarded by this
    private int pid = -1;          // guarded by this
    private volatile Output stdout, stderr;
    private volatile long startNanos, exitNanos, reapedNanos, lastProgressNanos;
    private volatile boolean treeWalked;
    private boolean channelBehind; // loop thread only: a drain of the stdout channel was cut short
    private volatile Containment containment;
    private volatile java.nio.file.Path dossier;

    Job(long id, ProcessSpec spec) {
        this.id = id;
        this.spec = spec;
    }

    long id() {
        return id;
    }

    /** The spec it was started from. */
    public ProcessSpec spec() {
        return spec;
    }

    /** The leader's pid, which is also its session and process-group id; -1 if it never started. */
    public synchronized int pid() {
        return pid;
    }

    /** Completes with the outcome. The returned future is a copy: completing it does not affect the job. */
    public CompletableFuture<Outcome> onExit() {
        return exit.copy();
    }

    /**
     * Waits for the outcome.
     *
     * @throws ScytheException if the supervisor's loop thread died before the job completed (the job was killed)
     */
    public Outcome await() throws InterruptedException {
        try {
            return exit.get();
        } catch (ExecutionException e) {
            throw failure(e);
        }
    }

    /**
     * Waits at most {@code timeout} for the outcome; empty if the job is still running then.
     *
     * @throws ScytheException if the supervisor's loop thread died before the job completed (the job was killed)
     */
    public java.util.Optional<Outcome> await(java.time.Duration timeout) throws InterruptedException {
        try {
            return java.util.Optional.of(exit.get(timeout.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS));
        } catch (java.util.concurrent.TimeoutException e) {
            return java.util.Optional.empty();
        } catch (ExecutionException e) {
            throw failure(e);
        }
    }

    private static RuntimeException failure(ExecutionException e) {
        return e.getCause() instanceof ScytheException se ? se
                : new IllegalStateException("job future failed", e.getCause());
    }

    public boolean isDone() {
        return exit.isDone();
    }

    /** Cancels with {@link CancelToken.Reason#USER}. */
    public boolean cancel() {
        return cancel(CancelToken.Reason.USER);
    }

    /**
     * Ends the job: SIGTERM (then SIGCONT) to its whole session, SIGKILL after the spec's grace. Any thread; does not
     * wait.
     *
     * <p>Returns true if and only if this cancel decided the outcome: the job then ends {@link Outcome.Cancelled} with
     * this reason (a leader that exited on its own a moment before the supervisor saw it keeps its exit code in the
     * outcome). Returns false if the job's end was already decided: it had ended, was being ended for another reason
     * (timeout, stall, limit, token) or was already cancelled.
     */
    public synchronized boolean cancel(CancelToken.Reason reason) {
        return handle != null && scythe_h.scythe_job_cancel(handle, reason.code()) == 0;
    }

    /**
     * Writes to the job's stdin channel ({@link Redirect#channel()}) without blocking: what the pipe does not take
     * now, the loop writes as the job reads. Writes arrive in call order. Any thread.
     *
     * @return false if the channel is closed: the job closed its stdin, {@link #closeStdin()} was called, or the job
     *         has ended (its outcome follows on {@link #onExit()})
     * @throws IllegalStateException if stdin is not a channel
     */
    public synchronized boolean write(byte[] data) {
        if (!(spec.stdin() instanceof Redirect.Channel)) {
            throw new IllegalStateException("stdin is not a channel: it is " + spec.stdin());
        }
        if (handle == null) {
            return false;
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            int rc = scythe_h.scythe_job_write(handle, buf, data.length);
            if (rc == -Outcome.Errno.EPIPE || rc == -Outcome.Errno.ESRCH) {
                return false;
            }
            NativeLibrary.check(rc, "scythe_job_write");
            return true;
        }
    }

    /** Closes the stdin channel once everything written is delivered: the job reads end-of-file. False if closed. */
    public synchronized boolean closeStdin() {
        if (!(spec.stdin() instanceof Redirect.Channel)) {
            throw new IllegalStateException("stdin is not a channel: it is " + spec.stdin());
        }
        return handle != null && scythe_h.scythe_job_close_stdin(handle) == 0;
    }

    /**
     * The peak memory of this job's cgroup so far, in bytes, as its outcome's {@link Usage#maxRss()} will measure it:
     * for recycling long-lived workers. Empty at the session level, where the machine does not account the cgroup's
     * memory, and once the job has ended (its outcome has the final figure). Any thread.
     */
    public synchronized java.util.OptionalLong memoryPeak() {
        if (handle == null) {
            return java.util.OptionalLong.empty();
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment kib = arena.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            int rc = scythe_h.scythe_job_memory_peak(kib, handle);
            if (rc == -Outcome.Errno.ENOTSUP || rc == -Outcome.Errno.EALREADY) {
                return java.util.OptionalLong.empty();
            }
            NativeLibrary.check(rc, "scythe_job_memory_peak");
            return java.util.OptionalLong.of(kib.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0) * 1024);
        }
    }

    /**
     * Hands what the loop read from the stdout channel to its sink, until none is left; on the loop thread, on an
     * OUTPUT event. The loop announces every byte it reads with such an event, queued ahead of the job's EXIT, so a
     * drain that ran to the end leaves nothing for the exit; one cut short by a sink that threw leaves the rest.
     */
    void drainChannel(MemorySegment h, MemorySegment buf, MemorySegment count) {
        if (!(spec.stdout() instanceof Redirect.Channel c)) {
            return;
        }
        channelBehind = true;
        for (;;) {
            NativeLibrary.check(scythe_h.scythe_job_read(count, h, buf, buf.byteSize()), "scythe_job_read");
            long n = count.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
            if (n == 0) {
                channelBehind = false;
                return;
            }
            c.sink().accept(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    /** At the exit: the rest of the channel, if a drain was cut short; the loop announced everything else. */
    void drainChannelRest(MemorySegment h, MemorySegment buf, MemorySegment count) {
        if (channelBehind) {
            drainChannel(h, buf, count);
        }
    }

    /** Captured stdout; the job must be done and its stdout captured. */
    public Output stdout() {
        return output(stdout, "stdout", spec.stdout());
    }

    /** Captured stderr; the job must be done and its stderr captured. */
    public Output stderr() {
        return output(stderr, "stderr", spec.stderr());
    }

    private Output output(Output o, String name, Redirect r) {
        if (!(r instanceof Redirect.Capture)) {
            throw new IllegalStateException(name + " was not captured: it went to " + r);
        }
        if (!exit.isDone()) {
            throw new IllegalStateException(name + " is available once the job is done");
        }
        return o == null ? Output.EMPTY : o;
    }

    /** Spawn returned: remember the native handle unless the loop already completed the job. */
    synchronized void attach(MemorySegment h) {
        if (!released) {
            handle = h;
            pid = scythe_h.scythe_job_pid(h);
        }
    }

    /** The loop is about to free the native job. */
    synchronized void release(int leaderPid) {
        released = true;
        handle = null;
        pid = leaderPid;
    }

    /** The native job is about to be freed with its loop: no call may reach the handle after this. */
    synchronized void abandon() {
        released = true;
        handle = null;
    }

    /** The loop died before this job completed. */
    void fail(Throwable cause) {
        exit.completeExceptionally(cause);
    }

    void complete(Outcome outcome, Output out, Output err) {
        complete(outcome, out, err, 0, 0, 0, 0, false, null);
    }

    void complete(Outcome outcome, Output out, Output err, long start, long exited, long reaped, long progress,
                  boolean walked, Containment level) {
        containment = level;
        stdout = out;
        stderr = err;
        startNanos = start;
        exitNanos = exited;
        reapedNanos = reaped;
        lastProgressNanos = progress;
        treeWalked = walked;
        exit.complete(outcome);
    }

    /** The containment level the job actually had (SESSION or CGROUP), once done; null if it never started. */
    public Containment containment() {
        return containment;
    }

    /** The last progress any probe saw (the start if none), on the {@link System#nanoTime()} clock. */
    public long lastProgressNanos() {
        return lastProgressNanos;
    }

    /**
     * True when the progress tree was watched by walking mtimes: asked for, or because inotify's watch limit
     * (fs.inotify.max_user_watches) ran out.
     */
    public boolean treeWalked() {
        return treeWalked;
    }

    /** The hang dossier written when this job overran, if one was asked for ({@link ProcessSpec.Builder#dossier}). */
    public java.util.Optional<java.nio.file.Path> dossier() {
        return java.util.Optional.ofNullable(dossier);
    }

    void dossier(java.nio.file.Path path) {
        dossier = path;
    }

    /** Reports progress for this job's stall window (what a progress predicate does). */
    public synchronized boolean reportProgress() {
        return handle != null && scythe_h.scythe_job_progress(handle) == 0;
    }

    /** When spawn returned, on the {@link System#nanoTime()} clock (CLOCK_MONOTONIC); 0 if it never started. */
    public long startNanos() {
        return startNanos;
    }

    /** When the loop saw the leader exit; 0 if it never started. */
    public long exitNanos() {
        return exitNanos;
    }

    /** When the leader was reaped, its session already signalled; 0 if it never started. */
    public long reapedNanos() {
        return reapedNanos;
    }

    @Override
    public String toString() {
        return "Job[pid " + pid() + ", " + spec.command() + (exit.isDone() ? ", " + exit.join() : ", running") + "]";
    }
}
