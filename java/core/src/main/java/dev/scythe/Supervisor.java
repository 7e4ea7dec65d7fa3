package dev.scythe;

import dev.scythe.ffi.scythe_event;
import dev.scythe.ffi.scythe_h;
import dev.scythe.ffi.scythe_output;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
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
                guardRestartsSeen = scythe_h.scythe_guard_restarts();
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
            Outcome early = SpawnFailures.before(spec);
            if (early != null) {
                job.complete(early, null, null);
                return job;
            }
            jobs.put(job.id(), job);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment opts = SpawnOptions.marshal(arena, spec, job.id());
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                int rc = scythe_h.scythe_spawn(out, loop, opts);
                if (rc < 0) {
                    jobs.remove(job.id());
                    job.complete(SpawnFailures.after(spec, rc), null, null);
                } else {
                    job.attach(out.get(ValueLayout.ADDRESS, 0));
                    Progress p = spec.progress();
                    if (p != null && p.window() != null && p.predicate() != null) {
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

    private void runLoop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment events = scythe_event.allocateArray(BATCH, arena);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment view = scythe_output.allocate(arena);
            MemorySegment chunk = arena.allocate(64 * 1024);
            long size = scythe_event.sizeof();
            while (!(stopping && jobs.isEmpty())) {
                int rc = scythe_h.scythe_loop_run_sized(count, loop, events, size, BATCH, -1);
                if (rc < 0) { // EINTR is retried inside; anything else will fail again: never spin on it
                    throw new ScytheException("scythe_loop_run_sized", rc, NativeLibrary.strerror(rc));
                }
                long n = count.get(ValueLayout.JAVA_LONG, 0);
                for (long i = 0; i < n; i++) {
                    dispatch(events.asSlice(i * size, size), view, chunk, count);
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

    private static volatile long guardRestartsSeen; // written under Supervisor.class
    private static int guardPidSeen = -1;      // guarded by Supervisor.class; -1: not looked at yet

    /**
     * Says in the log when the guard died: libscythe watches it (a pidfd in every loop) and starts another at once,
     * on the same table of live jobs, and the loop returns here, with no events, to tell. One acquire load when
     * nothing happened; the guard's pid is read only on a return without events.
     */
    private static void noticeGuard(boolean noEvents) {
        long restarts = scythe_h.scythe_guard_restarts();
        if (restarts == guardRestartsSeen && !noEvents) {
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
            guardPidSeen = pid;
        }
    }

    private static int liveJobsOfAll() {
        return OPEN.stream().mapToInt(Supervisor::liveJobs).sum();
    }

    private void dispatch(MemorySegment ev, MemorySegment view, MemorySegment chunk, MemorySegment count) {
        MemorySegment handle = scythe_event.job(ev);
        Job job = jobs.get(scythe_event.user_data(ev));
        if (scythe_event.kind(ev) == scythe_h.SCYTHE_EVENT_OUTPUT()) {
            if (job != null) {
                try {
                    job.drainChannel(handle, chunk, count);
                } catch (RuntimeException | Error e) {
                    LOG.log(System.Logger.Level.WARNING, "a job's stdout channel sink failed", e);
                }
            }
            return;
        }
        Output out = null, err = null;
        if (job != null) {
            try {
                job.drainChannelRest(handle, chunk, count); // bytes still unread come before the exit
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.WARNING, "a job's stdout channel sink failed", e);
            }
            out = job.spec().stdout() instanceof Redirect.Capture ? Events.output(handle, 1, view, ev) : null;
            err = job.spec().stderr() instanceof Redirect.Capture ? Events.output(handle, 2, view, ev) : null;
            job.release(scythe_event.pid(ev));
        }
        if (job == null) {
            scythe_h.scythe_job_free(handle);
            return;
        }
        try {
            Outcome outcome = Events.outcome(ev, job.spec());
            jobs.remove(job.id());
            long start = scythe_event.start_ns(ev), exited = scythe_event.exit_ns(ev);
            long reaped = scythe_event.reaped_ns(ev), progress = scythe_event.last_progress_ns(ev);
            boolean walked = (scythe_event.flags(ev) & scythe_h.SCYTHE_EVENT_TREE_WALKED()) != 0;
            Containment level = scythe_event.containment(ev) == scythe_h.SCYTHE_CONTAIN_CGROUP() ? Containment.CGROUP
                    : Containment.SESSION;
            if ((scythe_event.flags(ev) & scythe_h.SCYTHE_EVENT_DOSSIER()) != 0) {
                // Every JVM thread's stack joins the dossier, then the job completes: on a thread of its own, since a
                // dump of every thread stops them all and takes milliseconds the loop owes to the other jobs.
                Path dossier = Dossier.path(job.spec().dossierDir(), scythe_event.pid(ev));
                Output o = out, e = err;
                Thread.ofPlatform().daemon().name("scythe-dossier").start(() -> {
                    job.dossier(Dossier.appendThreads(dossier));
                    complete(job, outcome, o, e, start, exited, reaped, progress, walked, level);
                });
            } else {
                complete(job, outcome, out, err, start, exited, reaped, progress, walked, level);
            }
        } finally {
            scythe_h.scythe_job_free(handle); // after the outcome: what waits on it does not wait for the free too
        }
    }

    /** Completes a job's future with its outcome; a dependent stage that throws is logged, not the loop's end. */
    private static void complete(Job job, Outcome outcome, Output out, Output err, long start, long exited, long reaped,
                                 long progress, boolean walked, Containment level) {
        try {
            job.complete(outcome, out, err, start, exited, reaped, progress, walked, level);
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.WARNING, "a callback on a job's exit failed", e);
        }
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
            job.cancel(CancelToken.Reason.SHUTDOWN);
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
