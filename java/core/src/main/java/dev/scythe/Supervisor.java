package dev.scythe;

import dev.scythe.ffi.scythe_event;
import dev.scythe.ffi.scythe_h;
import dev.scythe.ffi.scythe_output;
import dev.scythe.ffi.scythe_spawn_options;
import dev.scythe.ffi.scythe_stdio;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Owns one native event loop and every job started through it. One platform thread, named
 * {@code scythe-loop-N}, blocks in native code and receives batches of exits: no thread per child, no polling.
 *
 * <p>Closing the supervisor ends every job it owns (SIGTERM to each session, SIGKILL after the grace) and waits
 * until all are reaped; a JVM shutdown hook does the same for supervisors still open at exit (normal exit, Ctrl-C).
 */
public final class Supervisor implements AutoCloseable {
    private static final int BATCH = 64;
    private static final AtomicInteger THREAD_IDS = new AtomicInteger();
    private static final Set<Supervisor> OPEN = ConcurrentHashMap.newKeySet();
    private static final System.Logger LOG = System.getLogger(Supervisor.class.getName());

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.forEach(Supervisor::close), "scythe-shutdown"));
    }

    private final MemorySegment loop;
    private final Thread thread;
    private final Map<Long, Job> jobs = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed; // guarded by lifecycle's write lock
    private volatile boolean stopping;
    private volatile Throwable death;   // why the loop thread died, or null
    private boolean loopFreed;          // guarded by lifecycle's write lock
    private java.util.concurrent.ScheduledExecutorService probes; // guarded by this; started on first use

    /** Opens a supervisor with its own loop thread. */
    public Supervisor() {
        NativeLibrary.ensure();
        NativeLibrary.ensureGuard(); // the first supervisor starts the guard; loading the library starts nothing
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(scythe_h.scythe_loop_new(out), "scythe_loop_new");
            loop = out.get(ValueLayout.ADDRESS, 0);
        }
        synchronized (Supervisor.class) {
            if (guardPidSeen < 0) { // the guard as it is now, for the log should it die
                guardPidSeen = scythe_h.scythe_guard_pid();
                guardRestartsSeen = guardRestartsSeenFast = scythe_h.scythe_guard_restarts();
            }
        }
        thread = new Thread(this::runLoop, "scythe-loop-" + THREAD_IDS.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
        OPEN.add(this);
    }

    /** Starts a job. A job that cannot start still returns a {@link Job}, completed with {@link Outcome.SpawnFailed}. */
    public Job start(ProcessSpec spec) {
        lifecycle.readLock().lock();
        try {
            if (death != null) {
                throw new IllegalStateException("this supervisor's loop thread died, so it can start nothing: "
                        + death, death);
            }
            if (closed) {
                throw new IllegalStateException("supervisor is closed");
            }
            Job job = new Job(ids.incrementAndGet(), spec);
            Outcome early = precheck(spec);
            if (early != null) {
                job.complete(early, null, null);
                return job;
            }
            jobs.put(job.id(), job);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment opts = options(arena, spec, job.id());
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                int rc = scythe_h.scythe_spawn(out, loop, opts);
                if (rc < 0) {
                    jobs.remove(job.id());
                    job.complete(spawnError(spec, rc), null, null);
                } else {
                    job.attach(out.get(ValueLayout.ADDRESS, 0));
                    Progress p = spec.progress();
                    if (p != null && p.predicate() != null) {
                        pollPredicate(job, p);
                    }
                }
            }
            return job;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Jobs started and not yet completed. */
    public int liveJobs() {
        return jobs.size();
    }

    /** The loop thread, for diagnostics. */
    public Thread loopThread() {
        return thread;
    }

    private static Outcome precheck(ProcessSpec spec) {
        if (spec.token() != null && spec.token().isCancelled()) {
            return cancelled(spec.token(), 0, Usage.NONE);
        }
        if (spec.stdin() instanceof Redirect.File f && !Files.isReadable(f.path())) {
            return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "cannot read stdin file " + f.path());
        }
        for (Redirect r : List.of(spec.stdout(), spec.stderr())) {
            if (r instanceof Redirect.File f && !Files.isDirectory(f.path().getParent())) {
                return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "no directory for output file " + f.path());
            }
        }
        Progress p = spec.progress();
        if (p != null && p.tree() != null && !Files.isDirectory(p.tree())) {
            return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "progress directory " + p.tree()
                    + " does not exist");
        }
        if (p != null && p.heartbeat() != null && !Files.isDirectory(p.heartbeat().getParent())) {
            return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "no directory for heartbeat file " + p.heartbeat());
        }
        if (spec.dossierDir() != null && !Files.isDirectory(spec.dossierDir())) {
            return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "no dossier directory " + spec.dossierDir());
        }
        if (spec.directory() != null && !Files.isDirectory(spec.directory())) {
            return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "no working directory " + spec.directory());
        }
        return null;
    }

    /** Polls a job's progress predicate on the supervisor's probe thread until the job ends. */
    private void pollPredicate(Job job, Progress p) {
        java.util.concurrent.ScheduledExecutorService exec;
        synchronized (this) {
            if (probes == null) {
                probes = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "scythe-probes-" + thread.getName().substring("scythe-loop-".length()));
                    t.setDaemon(true);
                    return t;
                });
            }
            exec = probes;
        }
        long every = p.pollEvery().toNanos();
        var task = exec.scheduleAtFixedRate(() -> {
            try {
                if (p.predicate().getAsBoolean()) {
                    job.reportProgress();
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "progress predicate failed for " + job, e);
            }
        }, every, every, java.util.concurrent.TimeUnit.NANOSECONDS);
        job.onExit().whenComplete((o, t) -> task.cancel(false));
    }

    private static Outcome spawnError(ProcessSpec spec, int rc) {
        if (rc == -Outcome.Errno.ECANCELED && spec.token() != null) {
            return cancelled(spec.token(), 0, Usage.NONE);
        }
        if (rc == -95 /* ENOTSUP */ && spec.containment() != Containment.SESSION) {
            return new Outcome.SpawnFailed(-rc, "cannot start " + spec.command().get(0) + " at the cgroup level: "
                    + "this machine offers " + Scythe.capabilities() + " (see docs/containment.md)");
        }
        return new Outcome.SpawnFailed(-rc, "cannot start " + spec.command().get(0) + ": "
                + NativeLibrary.strerror(rc));
    }

    private static MemorySegment options(Arena arena, ProcessSpec spec, long id) {
        MemorySegment o = scythe_spawn_options.allocate(arena);
        scythe_h.scythe_spawn_options_init(o);
        scythe_spawn_options.argv(o, cStrings(arena, spec.argv()));
        if (spec.environment() != null) {
            scythe_spawn_options.envp(o, cStrings(arena, spec.environment().entrySet().stream()
                    .map(e -> (e.getKey() + "=" + e.getValue()).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    .toList()));
        }
        if (spec.directory() != null) {
            scythe_spawn_options.cwd(o, cPath(arena, spec.directory()));
        }
        Redirect[] stdio = {spec.stdin(), spec.stdout(), spec.stderr()};
        long head = 0, tail = 0;
        for (int i = 0; i < 3; i++) {
            MemorySegment s = scythe_spawn_options.stdio(o).asSlice(i * scythe_stdio.sizeof(), scythe_stdio.sizeof());
            switch (stdio[i]) {
                case Redirect.Discard d -> scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_NULL());
                case Redirect.Inherit in -> scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_INHERIT());
                case Redirect.Capture c -> {
                    scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_PIPE());
                    head = Math.max(head, c.headBytes());
                    tail = Math.max(tail, c.tailBytes());
                }
                case Redirect.File f -> {
                    scythe_stdio.mode(s, f.append() ? scythe_h.SCYTHE_STDIO_FILE_APPEND() : scythe_h.SCYTHE_STDIO_FILE());
                    scythe_stdio.path(s, cPath(arena, f.path()));
                }
                case Redirect.Bytes b -> {
                    scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_PIPE());
                    MemorySegment data = arena.allocate(Math.max(1, b.data().length));
                    MemorySegment.copy(b.data(), 0, data, ValueLayout.JAVA_BYTE, 0, b.data().length);
                    scythe_stdio.input(s, data);
                    scythe_stdio.input_len(s, b.data().length);
                }
            }
        }
        scythe_spawn_options.head_bytes(o, head);
        scythe_spawn_options.tail_bytes(o, tail);
        if (spec.timeout() != null) {
            scythe_spawn_options.timeout_ns(o, nanos(spec.timeout()));
        }
        scythe_spawn_options.grace_ns(o, spec.grace().isZero() ? -1 : nanos(spec.grace()));
        if (spec.token() != null) {
            scythe_spawn_options.token(o, spec.token().handle());
        }
        scythe_spawn_options.user_data(o, id);
        Progress p = spec.progress();
        if (p != null) {
            int probes = 0;
            scythe_spawn_options.stall_ns(o, nanos(p.window()));
            if (p.tree() != null) {
                probes |= scythe_h.SCYTHE_PROBE_TREE() | (p.walkTree() ? scythe_h.SCYTHE_PROBE_TREE_WALK() : 0);
                scythe_spawn_options.progress_tree(o, cPath(arena, p.tree()));
            }
            if (p.output()) {
                probes |= scythe_h.SCYTHE_PROBE_OUTPUT();
                if (p.outputRegex() != null) {
                    scythe_spawn_options.progress_regex(o, arena.allocateFrom(p.outputRegex()));
                }
            }
            if (p.heartbeat() != null) {
                probes |= scythe_h.SCYTHE_PROBE_HEARTBEAT();
                scythe_spawn_options.heartbeat_path(o, cPath(arena, p.heartbeat()));
            }
            if (p.predicate() != null) {
                probes |= scythe_h.SCYTHE_PROBE_HOST();
            }
            scythe_spawn_options.probes(o, probes);
        }
        if (spec.cpuLimit() != null) {
            scythe_spawn_options.cpu_limit_ns(o, nanos(spec.cpuLimit()));
        }
        if (spec.dossierDir() != null) {
            scythe_spawn_options.dossier_dir(o, cPath(arena, spec.dossierDir()));
        }
        scythe_spawn_options.containment(o, switch (spec.containment()) {
            case SESSION -> scythe_h.SCYTHE_CONTAIN_SESSION();
            case CGROUP -> scythe_h.SCYTHE_CONTAIN_CGROUP();
            case BEST -> scythe_h.SCYTHE_CONTAIN_BEST();
        });
        scythe_spawn_options.memory_limit_bytes(o, spec.memoryLimit());
        scythe_spawn_options.process_limit(o, spec.processLimit());
        if (spec.claimIndex() >= 0) {
            scythe_spawn_options.claim_index(o, spec.claimIndex());
            long[] words = spec.claimExitCodes().toLongArray();
            // Through the field's slice: the generated indexed setter of this jextract writes relative to the
            // struct's start, not the field's.
            MemorySegment codes = scythe_spawn_options.claim_exit_codes(o);
            for (int w = 0; w < Math.min(4, words.length); w++) {
                codes.setAtIndex(ValueLayout.JAVA_LONG, w, words[w]);
            }
        }
        return o;
    }

    private static long nanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2; // centuries: no limit in practice
        }
    }

    /** A NULL-terminated array of NUL-terminated byte strings, byte for byte. */
    private static MemorySegment cStrings(Arena arena, List<byte[]> values) {
        MemorySegment array = arena.allocate(ValueLayout.ADDRESS, values.size() + 1L);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, cString(arena, values.get(i)));
        }
        array.setAtIndex(ValueLayout.ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }

    private static MemorySegment cString(Arena arena, byte[] bytes) {
        MemorySegment s = arena.allocate(bytes.length + 1L);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        s.set(ValueLayout.JAVA_BYTE, bytes.length, (byte) 0);
        return s;
    }

    /** A path's own bytes (see {@link OsStrings}), not its text re-encoded. */
    private static MemorySegment cPath(Arena arena, java.nio.file.Path path) {
        return cString(arena, OsStrings.bytes(path));
    }

    private void runLoop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment events = scythe_event.allocateArray(BATCH, arena);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment view = scythe_output.allocate(arena);
            long size = scythe_event.sizeof();
            while (!(stopping && jobs.isEmpty())) {
                int rc = scythe_h.scythe_loop_run(count, loop, events, BATCH, -1);
                if (rc < 0) { // EINTR is retried inside; anything else will fail again: never spin on it
                    throw new ScytheException("scythe_loop_run", rc, NativeLibrary.strerror(rc));
                }
                long n = count.get(ValueLayout.JAVA_LONG, 0);
                for (long i = 0; i < n; i++) {
                    dispatch(events.asSlice(i * size, size), view);
                }
                CancelToken.pollWatched();
                noticeGuard(n == 0);
            }
        } catch (Throwable t) {
            die(t);
        }
    }

    /**
     * The loop thread cannot go on: kill every job natively (the loop is freed, which kills and reaps them), make
     * every pending job's future fail with the cause, and every later start throw. Runs on the dying loop thread, so
     * nothing races with the loop itself; the write lock keeps out a concurrent start.
     */
    private void die(Throwable cause) {
        LOG.log(System.Logger.Level.ERROR, "scythe loop thread " + thread.getName() + " died; failing its "
                + jobs.size() + " live jobs", cause);
        List<Job> pending;
        lifecycle.writeLock().lock();
        try {
            death = cause;
            pending = List.copyOf(jobs.values());
            pending.forEach(Job::abandon); // no Java call reaches a native job handle after this
            jobs.clear();
            scythe_h.scythe_loop_free(loop);
            loopFreed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        OPEN.remove(this);
        ScytheException failure = new ScytheException("the supervisor's loop thread died; the job was killed", cause);
        pending.forEach(j -> j.fail(failure));
    }

    private static long guardRestartsSeen;     // guarded by Supervisor.class
    private static volatile long guardRestartsSeenFast;
    private static int guardPidSeen = -1;      // guarded by Supervisor.class; -1: not looked at yet

    /**
     * Says in the log when the guard died: libscythe watches it (a pidfd in every loop) and starts another at once,
     * on the same table of live jobs, and the loop returns here, with no events, to tell. One acquire load when
     * nothing happened; the guard's pid is read only on a return without events.
     */
    private static void noticeGuard(boolean noEvents) {
        long restarts = scythe_h.scythe_guard_restarts();
        if (restarts == guardRestartsSeenFast && !noEvents) {
            return;
        }
        synchronized (Supervisor.class) {
            if (restarts == guardRestartsSeen && guardPidSeen >= 0) {
                int pid = guardPidSeen == 0 ? 0 : scythe_h.scythe_guard_pid();
                if (pid == 0 && guardPidSeen > 0) {
                    LOG.log(System.Logger.Level.ERROR, "the scythe guard (pid " + guardPidSeen + ") died and could not "
                            + "be restarted: if this JVM is killed with -9, its " + liveJobsOfAll() + " live jobs will "
                            + "outlive it");
                    guardPidSeen = 0;
                }
                return;
            }
            int pid = scythe_h.scythe_guard_pid();
            if (restarts != guardRestartsSeen) {
                LOG.log(System.Logger.Level.WARNING, "the scythe guard" + (guardPidSeen > 0 ? " (pid " + guardPidSeen
                        + ")" : "") + " died; restarted as pid " + pid + ", covering the " + liveJobsOfAll() + " live jobs of this JVM (restart " + restarts
                        + ")");
            }
            guardRestartsSeen = restarts;
            guardRestartsSeenFast = restarts;
            guardPidSeen = pid;
        }
    }

    private static int liveJobsOfAll() {
        return OPEN.stream().mapToInt(Supervisor::liveJobs).sum();
    }

    private void dispatch(MemorySegment ev, MemorySegment view) {
        MemorySegment handle = scythe_event.job(ev);
        Job job = jobs.get(scythe_event.user_data(ev));
        Output out = null, err = null;
        if (job != null) {
            out = job.spec().stdout() instanceof Redirect.Capture ? output(handle, 1, view) : null;
            err = job.spec().stderr() instanceof Redirect.Capture ? output(handle, 2, view) : null;
            job.release(scythe_event.pid(ev));
        }
        scythe_h.scythe_job_free(handle);
        if (job != null) {
            Outcome outcome = outcome(ev, job.spec());
            jobs.remove(job.id());
            if ((scythe_event.flags(ev) & scythe_h.SCYTHE_EVENT_DOSSIER()) != 0) {
                job.dossier(Dossier.appendThreads(job.spec().dossierDir()
                        .resolve("scythe-dossier-" + scythe_event.pid(ev) + ".txt")));
            }
            try {
                job.complete(outcome, out, err, scythe_event.start_ns(ev), scythe_event.exit_ns(ev),
                        scythe_event.reaped_ns(ev), scythe_event.last_progress_ns(ev),
                        (scythe_event.flags(ev) & scythe_h.SCYTHE_EVENT_TREE_WALKED()) != 0,
                        scythe_event.containment(ev) == scythe_h.SCYTHE_CONTAIN_CGROUP() ? Containment.CGROUP
                                : Containment.SESSION);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.WARNING, "a callback on a job's exit failed", e);
            }
        }
    }

    private static Output output(MemorySegment handle, int stream, MemorySegment view) {
        if (scythe_h.scythe_job_output(view, handle, stream) < 0) {
            return Output.EMPTY;
        }
        byte[] head = bytes(scythe_output.head(view), scythe_output.head_len(view));
        byte[] tail = bytes(scythe_output.tail(view), scythe_output.tail_len(view));
        return new Output(head, tail, scythe_output.total(view), scythe_output.dropped(view));
    }

    private static byte[] bytes(MemorySegment p, long len) {
        return len == 0 ? new byte[0] : p.reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
    }

    static Outcome outcome(MemorySegment ev, ProcessSpec spec) {
        CancelToken token = spec.token();
        Usage usage = new Usage(Duration.ofNanos(scythe_event.exit_ns(ev) - scythe_event.start_ns(ev)),
                Duration.ofNanos(scythe_event.user_cpu_ns(ev)), Duration.ofNanos(scythe_event.sys_cpu_ns(ev)),
                scythe_event.max_rss_kib(ev));
        int end = scythe_event.end(ev), code = scythe_event.exit_code(ev), sig = scythe_event.term_signal(ev);
        if (end == scythe_h.SCYTHE_END_EXITED()) {
            return code == 0 ? new Outcome.Success(usage) : new Outcome.Failure(code, usage);
        } else if (end == scythe_h.SCYTHE_END_SIGNALED()) {
            return new Outcome.Crashed(sig, scythe_event.core_dumped(ev) != 0, usage);
        } else if (end == scythe_h.SCYTHE_END_TIMEOUT()) {
            return new Outcome.TimedOut(code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_STALLED()) {
            return new Outcome.Stalled(spec.progress().window(), code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_CPU_LIMIT()) {
            return new Outcome.ResourceExceeded(Outcome.Resource.CPU, code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_MEMORY()) {
            return new Outcome.ResourceExceeded(Outcome.Resource.MEMORY, code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_PROCESSES()) {
            return new Outcome.ResourceExceeded(Outcome.Resource.PROCESSES, code, sig, usage);
        } else if (end == scythe_h.SCYTHE_END_CANCELLED()) {
            int reason = scythe_event.cancel_reason(ev);
            if (reason == CancelToken.REASON_PREEMPTED) {
                return new Outcome.Preempted(token == null ? -1 : token.winner().orElse(-1), code, sig, usage);
            }
            return new Outcome.Cancelled(reason, code, sig, usage);
        }
        // SCYTHE_END_LOST, or an end this version does not know: never a success.
        return new Outcome.StatusLost(usage);
    }

    /** The outcome of a job ended (or never started) because its token was cancelled: a claim preempts. */
    static Outcome cancelled(CancelToken token, int signal, Usage usage) {
        int reason = token.reason().orElse(0);
        return reason == CancelToken.REASON_PREEMPTED
                ? new Outcome.Preempted(token.winner().orElse(-1), -1, signal, usage)
                : new Outcome.Cancelled(reason, -1, signal, usage);
    }

    /**
     * Ends every job (SIGTERM to each session, SIGKILL after each job's grace), waits until all are reaped, stops the
     * loop thread and frees the native loop. Idempotent. Must not be called from the loop thread.
     */
    @Override
    public void close() {
        if (Thread.currentThread() == thread) {
            throw new IllegalStateException("close() called from the supervisor's own loop thread");
        }
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        OPEN.remove(this);
        for (Job job : jobs.values()) {
            job.cancel(CancelToken.REASON_SHUTDOWN);
        }
        stopping = true;
        scythe_h.scythe_loop_wakeup(loop);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // finish closing: jobs must not outlive their supervisor
            }
        }
        lifecycle.writeLock().lock();
        try {
            if (!loopFreed) {
                jobs.values().forEach(Job::abandon);
                scythe_h.scythe_loop_free(loop); // kills and reaps anything the thread left
                loopFreed = true;
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
        synchronized (this) {
            if (probes != null) {
                probes.shutdownNow();
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
