package dev.scythe.pool;

import dev.scythe.CancelToken;
import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A pool of long-lived workers, each a Scythe job (its own session, a cgroup leaf where the spec asks for one, covered
 * by the guard), that serve tasks over a {@link Protocol} on their stdin and stdout.
 *
 * <p>The channel never outlives the worker: a worker's death is seen from its pidfd by the supervisor's loop (not
 * from end-of-file on its stdout, which a grandchild may hold open), and every request pending on it fails at once
 * with {@link Result.WorkerDied}. A cancel, a deadline or a stall window gives the request its outcome at once, sends
 * the protocol's cancel notification, and kills the worker's whole tree if no response comes within the cancel grace;
 * the worker's slot is taken again only once a response or the death is seen. Request ids are never reused. A worker
 * that keeps dying is restarted with exponential backoff, and its slot is reported failing after
 * {@link Builder#maxRestarts} deaths in a row; a task that killed {@link Builder#quarantineAfter} workers is not sent to
 * another one.
 *
 * <p>The pool's state is guarded by one lock and changed on the thread that has something to say: the caller's
 * {@link #submit} sends the request itself, and the supervisor's loop thread decodes the responses and sees the
 * deaths, with no hand-off to another thread (one timer thread, {@code scythe-pool-N-timers}, serves deadlines, stall
 * windows, graces and backoff). The {@link TaskKind}'s methods run under that lock and must not block. A future
 * completes after the lock is released, on the thread that decided it, often the supervisor's loop thread: dependent
 * stages added without {@code *Async} must not block it, as for {@link Job#onExit()}.
 *
 * @param <T> task
 * @param <Q> request
 * @param <R> response
 * @param <C> competence of an old worker
 */
public final class Pool<T, Q, R, C> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Pool.class.getName());
    private static final AtomicInteger POOL_IDS = new AtomicInteger();

    /** Whether workers serve many tasks or one. */
    public enum Mode {
        /** Workers stay until the task kind ends them ({@link Verdict.End}) or the pool recycles them. */
        PERSISTENT,
        /** Every worker serves one task and is replaced by a fresh one. */
        REBOOTING
    }

    private enum EndCause { RECYCLE, CANCEL_KILL, PROTOCOL, CLOSE }

    private final Supervisor supervisor;
    private final ProcessSpec template;
    private final Protocol<Q, R> protocol;
    private final TaskKind<T, Q, R, C> kind;
    private final Builder<T, Q, R, C> config;
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    // Once the lock is released: the tickets decided complete their futures first, in order; then the rest runs.
    private final ArrayList<Ticket<R>> tickets = new ArrayList<>();
    private final ArrayDeque<Runnable> deliveries = new ArrayDeque<>();
    private final ScheduledThreadPoolExecutor timers;
    private final List<Slot> slots = new ArrayList<>();
    private final Deque<Pending> queue = new ArrayDeque<>();
    /** Workers each task killed (it was the oldest request pending on a worker that died); the most recent 10,000. */
    private final Map<T, Integer> kills = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<T, Integer> eldest) {
            return size() > 10_000;
        }
    };
    private long lastId;
    private volatile boolean closed;

    private Pool(Builder<T, Q, R, C> b) {
        this.supervisor = b.supervisor;
        this.template = b.worker;
        this.protocol = b.protocol;
        this.kind = b.kind;
        this.config = b;
        String name = "scythe-pool-" + POOL_IDS.incrementAndGet() + "-timers";
        this.timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        timers.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        for (int i = 0; i < b.workers; i++) {
            slots.add(new Slot(i));
        }
        locked(() -> {
            for (Slot s : slots) {
                startWorker(s);
            }
        });
    }

    /**
     * A pool builder.
     *
     * @param worker the worker's command and settings (environment, directory, containment, limits, stall window of
     *               the worker as a whole); its stdin, stdout and stderr are the pool's
     */
    public static <T, Q, R, C> Builder<T, Q, R, C> builder(Supervisor supervisor, ProcessSpec worker,
                                                           Protocol<Q, R> protocol, TaskKind<T, Q, R, C> kind) {
        return new Builder<>(supervisor, worker, protocol, kind);
    }

    // ---- the public calls -----------------------------------------------------------------------------------------

    /**
     * Queues a task. The future completes with its one {@link Result}; {@link Ticket#cancel(boolean)} cancels it.
     * After {@link #close()}, it completes at once with {@link Result.Unavailable}.
     */
    public Ticket<R> submit(T task) {
        Objects.requireNonNull(task, "task");
        Pending p = new Pending(task, true);
        p.ticket.canceller = () -> locked(() -> withdraw(p));
        locked(() -> {
            if (closed) {
                finish(p, new Result.Unavailable<>(p.name, "the pool is closed", p.wall()));
                return;
            }
            queue.addLast(p);
            dispatch();
        });
        return p.ticket;
    }

    /**
     * Sends {@code feedback} to every live worker as the protocol's feedback notification (Rocq's
     * {@code forward_feedback}; {@code $/feedback} in JSON-RPC). Returns how many workers it was written to.
     *
     * @throws UnsupportedOperationException if the protocol has no feedback notification
     * @throws IllegalArgumentException if the protocol cannot encode {@code feedback}
     */
    public int broadcast(Object feedback) {
        byte[] bytes;
        try {
            bytes = protocol.encodeFeedback(feedback);
        } catch (Protocol.EncodeException e) {
            throw new IllegalArgumentException("cannot encode the feedback: " + e.getMessage(), e);
        }
        if (bytes == null) {
            throw new UnsupportedOperationException("the " + protocol.name() + " protocol has no feedback notification");
        }
        return call(() -> {
            int n = 0;
            for (Slot s : slots) {
                Worker w = s.worker;
                if (w != null && w.job != null && !w.dead && w.cause == null && w.job.write(bytes)) {
                    n++;
                }
            }
            return n;
        });
    }

    /** What each worker slot is doing now. */
    public List<WorkerInfo> workers() {
        return call(() -> {
            List<WorkerInfo> out = new ArrayList<>();
            for (Slot s : slots) {
                Worker w = s.worker;
                String state = s.failing != null ? "failing: " + s.failing
                        : w == null ? (s.restart != null ? "restarting" : "stopped")
                        : w.cause != null ? "stopping" : w.retiring ? "retiring" : w.inflight.isEmpty() ? "idle" : "busy";
                out.add(new WorkerInfo(s.index, w == null ? null : w.name, w == null ? -1 : w.pid, state,
                        w == null ? 0 : w.served, w == null ? 0 : w.inflight.size(), s.failures, s.starts));
            }
            return out;
        });
    }

    /** A worker slot, as {@link #workers()} shows it. */
    public record WorkerInfo(int slot, String worker, int pid, String state, int served, int pending,
                             int failuresInARow, int starts) {}

    /** True when every worker slot is failing: nothing submitted can be served. */
    public boolean failing() {
        return call(this::allFailing);
    }

    /**
     * Closes the pool: queued and pending tasks end {@link Result.Unavailable}, every worker is asked to exit (the
     * protocol's exit notification, end-of-file on stdin) and its session killed (TERM, KILL after the spec's grace),
     * and this call returns once every worker was reaped. Idempotent. Not from the supervisor's loop thread (a
     * future's dependent stage), which is the thread that reaps the workers.
     */
    @Override
    public void close() {
        if (Thread.currentThread() == supervisor.loopThread()) {
            throw new IllegalStateException("close() called on the supervisor's loop thread, which reaps the workers");
        }
        List<Job> jobs = call(() -> {
            closed = true;
            List<Job> all = new ArrayList<>();
            while (!queue.isEmpty()) {
                Pending p = queue.pollFirst();
                finish(p, new Result.Unavailable<>(p.name, "the pool is closed", p.wall()));
            }
            for (Slot s : slots) {
                if (s.restart != null) {
                    s.restart.cancel(false);
                    s.restart = null;
                }
                for (Worker w : s.all) {
                    for (Pending p : w.inflight.values()) {
                        p.stopTimers();
                        finish(p, new Result.Unavailable<>(p.name, "the pool is closed", p.wall()));
                    }
                    w.inflight.clear();
                    if (w.job != null && !w.dead) {
                        stop(w, EndCause.CLOSE, true);
                        all.add(w.job);
                    }
                }
            }
            return all;
        });
        boolean interrupted = false;
        for (Job j : jobs) {
            while (true) {
                try {
                    j.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // finish closing: workers must not outlive their pool
                } catch (RuntimeException loopDied) {
                    break;
                }
            }
        }
        timers.shutdownNow();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- tickets -----------------------------------------------------------------------------------------------

    /**
     * The future result of one submitted task. {@link #cancel(boolean)} cancels the task: the future then completes
     * normally with {@link Result.Cancelled} (not with a {@code CancellationException}), and only if no other outcome
     * came first.
     */
    public static final class Ticket<R> extends CompletableFuture<Result<R>> {
        private final String task;
        private final long submitted;
        private static final java.lang.invoke.VarHandle DECIDED;
        static {
            try {
                DECIDED = java.lang.invoke.MethodHandles.lookup().findVarHandle(Ticket.class, "decided", Result.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
        @SuppressWarnings("unused") // through DECIDED: a field, not an AtomicReference, one object less per request
        private volatile Result<R> decided;
        private volatile Runnable canceller;

        Ticket(String task, long submitted) {
            this.task = task;
            this.submitted = submitted;
        }

        /** The task's name. */
        public String task() {
            return task;
        }

        /**
         * Cancels the task: a queued task leaves the queue; a pending request gets the protocol's cancel notification
         * and its worker is killed (whole tree) and replaced if no response comes within the pool's cancel grace.
         * The future completes at once, on this thread.
         *
         * @return true if this cancel decided the outcome ({@link Result.Cancelled})
         */
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            Result<R> c = new Result.Cancelled<>(task, Duration.ofNanos(System.nanoTime() - submitted));
            if (!DECIDED.compareAndSet(this, null, c)) {
                return false;
            }
            super.complete(c);
            Runnable r = canceller;
            if (r != null) {
                r.run();
            }
            return true;
        }

        /** Only the pool completes a ticket. */
        @Override
        public boolean complete(Result<R> value) {
            throw new UnsupportedOperationException("only the pool completes a ticket; cancel it with cancel()");
        }

        /** Only the pool completes a ticket, and never exceptionally. */
        @Override
        public boolean completeExceptionally(Throwable ex) {
            throw new UnsupportedOperationException("only the pool completes a ticket; cancel it with cancel()");
        }

        /** Decides the outcome, once: the compare-and-set that a cancel races. */
        boolean decide(Result<R> r) {
            return DECIDED.compareAndSet(this, null, r);
        }

        boolean decided() {
            return decided != null;
        }

        /** Completes the future with the decided outcome. */
        void deliver() {
            super.complete(decided);
        }

        /** Waits for the result; an interrupted wait leaves the task running. */
        public Result<R> result() throws InterruptedException {
            try {
                return get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("a pool ticket never completes exceptionally", e.getCause());
            }
        }
    }

    // ---- state, under the lock ------------------------------------------------------------------------

    private final class Slot {
        final int index;
        final List<Worker> all = new ArrayList<>(); // this slot's workers not yet reaped (a stopping one, its successor)
        Worker worker;      // the one taking tasks, or null
        int starts;
        int failures;       // deaths in a row the pool did not ask for
        String failing;     // why the slot gave up, or null
        ScheduledFuture<?> restart;

        Slot(int index) {
            this.index = index;
        }
    }

    private final class Worker {
        final Slot slot;
        final String name;
        final LinkedHashMap<Long, Pending> inflight = new LinkedHashMap<>();
        final Protocol.Decoder<R> decoder = protocol.newDecoder();
        Job job;
        int pid = -1;
        WorkerStatus<C> status = WorkerStatus.fresh();
        boolean sentFirst, retiring, dead, idleStop;
        EndCause cause;     // why the pool ended it; null while it serves, and for a death the pool did not ask for
        String retireReason;
        int served;
        ScheduledFuture<?> idle;

        Worker(Slot slot) {
            this.slot = slot;
            this.name = "w" + slot.index + "#" + slot.starts;
        }

        boolean takes() {
            return job != null && !dead && cause == null && !retiring && inflight.size() < config.maxInFlight;
        }
    }

    private final class Pending {
        final T task;
        final String name;
        final boolean injected; // by a Verdict.Stay: its result goes to the kind, nobody holds its ticket
        final long submitted = System.nanoTime();
        final Ticket<R> ticket;
        long id;
        Worker worker;
        long lastProgress;
        ScheduledFuture<?> deadline, stall;

        Pending(T task, boolean submittedByUser) {
            this.task = task;
            this.name = kind.taskName(task);
            this.injected = !submittedByUser;
            this.ticket = new Ticket<>(name, submitted);
        }

        /** Its outcome is decided; it may still occupy its worker until a response or the death is seen. */
        boolean settled() {
            return ticket.decided();
        }

        Duration wall() {
            return wall(System.nanoTime());
        }

        Duration wall(long now) {
            return Duration.ofNanos(now - submitted);
        }

        void stopTimers() {
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (stall != null) {
                stall.cancel(false);
            }
        }
    }

    private void startWorker(Slot s) {
        if (closed || s.failing != null || s.worker != null) {
            return;
        }
        s.restart = null;
        s.starts++;
        Worker w = new Worker(s);
        ProcessSpec.Builder b = template.toBuilder()
                .stdin(Redirect.channel())
                .stdout(Redirect.channel(bytes -> locked(() -> onBytes(w, bytes))))
                .stderr(Redirect.capture(1024, config.stderrTail));
        Map<String, String> extra = new LinkedHashMap<>(kind.extraEnvironment());
        extra.put("SCYTHE_POOL_WORKER", w.name);
        Map<String, String> env = new LinkedHashMap<>(template.environment() != null ? template.environment()
                : System.getenv());
        env.putAll(extra);
        b.environment(env);
        Job job;
        try {
            job = supervisor.start(b.build());
        } catch (IllegalStateException e) { // the supervisor is closed or its loop died
            s.failing = "cannot start workers: " + e.getMessage();
            failQueueIfAllFailing();
            return;
        }
        w.job = job;
        w.pid = job.pid();
        s.worker = w;
        s.all.add(w);
        job.onExit().whenComplete((outcome, error) -> locked(() -> onDeath(w, outcome, error)));
        armIdle(w);
        dispatch();
    }

    /** Sends queued tasks to workers that take them, in queue order; a task no worker matches waits. */
    private void dispatch() {
        if (closed) {
            return;
        }
        failQueueIfAllFailing();
        for (Iterator<Pending> it = queue.iterator(); it.hasNext(); ) {
            if (!anyWorkerTakes()) {
                break; // nothing more can go now: a response or a new worker dispatches again (no O(queue) per event)
            }
            Pending p = it.next();
            if (p.settled()) { // cancelled while queued
                it.remove();
                continue;
            }
            int killed = kills.getOrDefault(p.task, 0);
            if (killed >= config.quarantineAfter) {
                it.remove();
                finish(p, new Result.Quarantined<>(p.name, killed, p.wall()));
                continue;
            }
            Worker w = pick(p.task);
            if (w == null) {
                continue; // no worker that takes it matches it: it waits, others go ahead
            }
            Optional<Q> request = kind.requestOf(w.status, p.task);
            if (request.isEmpty()) {
                it.remove();
                finish(p, new Result.Dropped<>(p.name, p.wall()));
                continue;
            }
            long id = ++lastId;
            byte[] bytes;
            try {
                bytes = protocol.encodeRequest(id, request.get(), !w.sentFirst);
            } catch (Protocol.EncodeException e) {
                it.remove();
                kind.onEncodeError(e.getMessage(), p.task);
                finish(p, new Result.EncodeError<>(p.name, e.getMessage(), p.wall()));
                continue;
            }
            if (!w.job.write(bytes)) { // its stdin is gone: it is dying, and its death event follows
                w.retiring = true;
                continue;
            }
            it.remove();
            w.sentFirst = true;
            p.id = id;
            p.worker = w;
            p.lastProgress = System.nanoTime();
            w.inflight.put(id, p);
            if (w.idle != null) {
                w.idle.cancel(false);
                w.idle = null;
            }
            if (config.deadline != null) {
                p.deadline = later(config.deadline, () -> expire(p, new Result.TimedOut<>(p.name, config.deadline,
                        p.wall())));
            }
            if (config.stall != null) {
                armStall(p, config.stall.toNanos());
            }
        }
        if (!queue.isEmpty()) { // slots an idle timeout emptied start again when there is work
            for (Slot s : slots) {
                if (s.worker == null && s.restart == null && s.failing == null) {
                    startWorker(s);
                }
            }
        }
    }

    private boolean anyWorkerTakes() {
        for (Slot s : slots) {
            if (s.worker != null && s.worker.takes()) {
                return true;
            }
        }
        return false;
    }

    private Worker pick(T task) {
        Worker best = null;
        for (Slot s : slots) {
            Worker w = s.worker;
            if (w != null && w.takes() && (best == null || w.inflight.size() < best.inflight.size())
                    && kind.matches(w.status, task)) {
                best = w;
            }
        }
        return best;
    }

    private void armStall(Pending p, long windowNanos) {
        long due = p.lastProgress + windowNanos - System.nanoTime();
        p.stall = later(Duration.ofNanos(Math.max(0, due)), () -> {
            if (p.settled()) {
                return;
            }
            if (System.nanoTime() - p.lastProgress >= windowNanos) {
                expire(p, new Result.Stalled<>(p.name, config.stall, p.wall()));
            } else {
                armStall(p, windowNanos);
            }
        });
    }

    private void onBytes(Worker w, byte[] bytes) {
        if (w.dead || w.cause == EndCause.PROTOCOL) {
            return;
        }
        try {
            w.decoder.feed(bytes, 0, bytes.length, new Protocol.Sink<>() {
                @Override
                public void response(long id, R response) {
                    onResponse(w, id, response);
                }

                @Override
                public void progress(long id) {
                    Pending p = w.inflight.get(id);
                    if (p != null) {
                        p.lastProgress = System.nanoTime();
                    }
                }

                @Override
                public void retire(String reason) {
                    w.retiring = true;
                    w.retireReason = "it asked to retire: " + reason;
                }
            });
        } catch (Protocol.ProtocolException e) {
            brokeProtocol(w, e.getMessage());
        } catch (BrokenWorker e) {
            brokeProtocol(w, e.getMessage());
        }
        afterResponses(w);
    }

    /** Thrown out of a decoder's sink to stop it when the worker answered something it was never asked. */
    private static final class BrokenWorker extends RuntimeException {
        BrokenWorker(String message) {
            super(message, null, false, false);
        }
    }

    private void onResponse(Worker w, long id, R response) {
        if (w.cause == EndCause.PROTOCOL) {
            return;
        }
        Pending p;
        if (id == Protocol.Decoder.IN_ORDER) {
            Iterator<Pending> first = w.inflight.values().iterator();
            p = first.hasNext() ? first.next() : null;
            if (p != null) {
                first.remove();
            }
        } else {
            p = w.inflight.remove(id);
        }
        if (p == null) {
            throw new BrokenWorker(id == Protocol.Decoder.IN_ORDER ? "a response with no request pending"
                    : "a response to request " + id + ", which is not pending on this worker");
        }
        p.stopTimers();
        p.worker = null;
        w.served++;
        w.slot.failures = 0; // it works: a crash loop is over
        Result<R> result = new Result.Response<>(p.name, response, w.name, w.pid, p.wall());
        if (!finish(p, result)) {
            return; // cancelled, timed out or stalled: its outcome was given; the response only frees the worker
        }
        kills.remove(p.task); // it was answered: whatever it did before, it is not poison
        Verdict<T, C> verdict;
        try {
            verdict = kind.useResponse(w.status, p.task, response);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "useResponse failed for task " + p.name + "; ending worker " + w.name, e);
            verdict = Verdict.end();
        }
        switch (verdict) {
            case Verdict.Stay<T, C> stay -> {
                w.status = WorkerStatus.old(stay.competence());
                List<T> injected = stay.injected();
                for (int i = injected.size() - 1; i >= 0; i--) {
                    queue.addFirst(new Pending(injected.get(i), false));
                }
            }
            case Verdict.End<T, C> end -> {
                w.retiring = true;
                w.retireReason = "the task kind ended it";
            }
        }
        if (config.mode == Mode.REBOOTING) {
            w.retiring = true;
            w.retireReason = "a rebooting pool's worker serves one task";
        } else if (config.maxTasks > 0 && w.served >= config.maxTasks) {
            w.retiring = true;
            w.retireReason = "it served " + w.served + " tasks";
        } else if (config.memoryLimit > 0) {
            long used = WorkerMemory.bytes(w.job, w.pid);
            if (used > config.memoryLimit) {
                w.retiring = true;
                w.retireReason = "its memory (" + used / 1024 + " KiB) passed " + config.memoryLimit / 1024 + " KiB";
            }
        }
    }

    /** After a batch of frames: retire what should go, give work to what can take it. */
    private void afterResponses(Worker w) {
        if (!w.dead && w.cause == null && w.retiring && w.inflight.isEmpty()) {
            LOG.log(System.Logger.Level.DEBUG, () -> "recycling worker " + w.name + ": " + w.retireReason);
            stop(w, EndCause.RECYCLE, true);
        } else if (!w.dead && w.inflight.isEmpty()) {
            armIdle(w);
        }
        dispatch();
    }

    private void armIdle(Worker w) {
        if (config.idle == null || w.idle != null || w.dead || w.cause != null) {
            return;
        }
        w.idle = later(config.idle, () -> {
            w.idle = null;
            if (!w.dead && w.cause == null && w.inflight.isEmpty()) {
                w.retireReason = "idle for " + config.idle;
                w.idleStop = true;
                stop(w, EndCause.RECYCLE, false); // its slot starts again when there is work
            }
        });
    }

    private void brokeProtocol(Worker w, String detail) {
        if (w.cause == EndCause.PROTOCOL) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "worker " + w.name + " (pid " + w.pid + ") broke the " + protocol.name()
                + " protocol and is replaced: " + detail);
        for (Pending p : List.copyOf(w.inflight.values())) {
            p.stopTimers();
            if (!p.settled()) {
                kind.onCancelledExpiredOrWorkerDeath(Optional.of(p.task));
                finish(p, new Result.ProtocolError<>(p.name, w.name, detail, p.wall()));
            }
        }
        w.inflight.clear();
        w.slot.failures++;
        w.retireReason = "it broke the protocol: " + detail;
        stop(w, EndCause.PROTOCOL, false); // its slot is taken again once its death is seen, after the backoff
    }

    /**
     * Ends a worker the pool no longer wants: it stops taking tasks at once; its exit notification and end-of-file
     * go out, then TERM (KILL after the spec's grace) to its whole session. A recycled slot gets a fresh worker now.
     */
    private void stop(Worker w, EndCause cause, boolean replace) {
        if (w.cause != null || w.dead) {
            return;
        }
        w.cause = cause;
        if (w.idle != null) {
            w.idle.cancel(false);
            w.idle = null;
        }
        Slot s = w.slot;
        if (s.worker == w && (cause == EndCause.RECYCLE || cause == EndCause.CLOSE)) {
            s.worker = null; // a recycled worker answered everything: its successor may start now
        } // a worker killed mid-request keeps its slot until its death is seen: never two at once for one slot
        if (cause == EndCause.CANCEL_KILL || cause == EndCause.PROTOCOL) {
            w.job.cancel(CancelToken.Reason.SHUTDOWN);
        } else {
            byte[] exit = protocol.encodeExit();
            if (exit != null) {
                w.job.write(exit);
            }
            w.job.closeStdin();
            if (cause == EndCause.CLOSE) {
                w.job.cancel(CancelToken.Reason.SHUTDOWN);
            } else {
                later(config.stopGrace, () -> w.job.cancel(CancelToken.Reason.SHUTDOWN));
            }
        }
        if (replace && cause == EndCause.RECYCLE) {
            startWorker(s);
        }
    }

    /**
     * A worker was reaped. What its death decides comes first: its pending requests fail (or go back to the queue,
     * when the pool ended it), the slot is free, the task it was on is charged with it. The rest (timers, the kind's
     * callbacks, the log line, the restart and the next dispatch) waits until those failures are delivered: it is
     * bookkeeping nobody is waiting for.
     */
    private void onDeath(Worker w, Outcome outcome, Throwable error) {
        w.dead = true;
        Slot s = w.slot;
        s.all.remove(w);
        if (s.worker == w) {
            s.worker = null;
        }
        boolean asked = w.cause != null;
        List<Pending> pending = new ArrayList<>(w.inflight.values());
        w.inflight.clear();
        String tail = asked || closed ? "" : stderrTail(w.job);
        int code = outcome == null ? -1 : outcome.exitCode();
        int signal = outcome == null ? 0 : outcome.signal();
        if (outcome instanceof Outcome.SpawnFailed f) {
            s.failing = "the worker cannot start: " + f.message();
        }
        List<Pending> failed = new ArrayList<>(asked || closed ? 0 : pending.size());
        long now = System.nanoTime();
        for (int i = pending.size() - 1; i >= 0; i--) { // from the newest, so that re-queued ones keep their order
            Pending p = pending.get(i);
            p.worker = null;
            if (p.settled()) {
                continue;
            }
            if (closed) {
                finish(p, new Result.Unavailable<>(p.name, "the pool is closed", p.wall(now)));
            } else if (asked) {
                p.stopTimers();
                queue.addFirst(p); // the pool ended this worker for another request's sake: this one goes again
            } else if (finish(p, new Result.WorkerDied<>(p.name, w.name, w.pid, code, signal, tail, p.wall(now)))) {
                failed.add(p);
            }
        }
        if (!asked && !closed && !pending.isEmpty()) {
            // The oldest request pending is the one a worker serving in order was on: it is charged with the death
            // (with one request at a time, the only one). The others only shared the worker. Charged now, before
            // anyone hears of the death: a caller that resubmits the task at once must find it counted.
            kills.merge(pending.get(0).task, 1, Integer::sum);
        }
        if (!asked) {
            s.failures++;
        }
        deliveries.add(() -> locked(() -> afterDeath(w, pending, failed, outcome, error)));
    }

    /** The rest of a worker's death, under the lock again once its requests' failures were delivered. */
    private void afterDeath(Worker w, List<Pending> pending, List<Pending> failed, Outcome outcome, Throwable error) {
        boolean asked = w.cause != null; // as at its death: a dead worker's cause does not change (stop() returns)
        if (w.idle != null) {
            w.idle.cancel(false);
        }
        for (Pending p : pending) {
            p.stopTimers();
        }
        for (Pending p : failed) {
            kind.onCancelledExpiredOrWorkerDeath(Optional.of(p.task));
        }
        Slot s = w.slot;
        if (!asked) {
            int code = outcome == null ? -1 : outcome.exitCode();
            int signal = outcome == null ? 0 : outcome.signal();
            if (pending.isEmpty()) {
                kind.onCancelledExpiredOrWorkerDeath(Optional.empty());
            }
            String why = error != null ? "its supervisor's loop died: " + error.getMessage()
                    : outcome instanceof Outcome.SpawnFailed f ? "spawn failed: " + f.message()
                    : signal > 0 ? "killed by signal " + signal : "exit " + code;
            String line = "worker " + w.name + " (pid " + w.pid + ") died (" + why + ")"
                    + (pending.isEmpty() ? "" : " with " + pending.size() + " requests pending");
            deliveries.add(() -> LOG.log(System.Logger.Level.WARNING, line));
            if (s.worker == null) {
                scheduleRestart(s, why);
            }
        } else if (w.cause == EndCause.PROTOCOL) {
            if (s.worker == null) {
                scheduleRestart(s, w.retireReason);
            }
        } else if (!closed && s.worker == null && s.restart == null && !w.idleStop) {
            startWorker(s);
        }
        dispatch();
    }

    private void scheduleRestart(Slot s, String why) {
        if (closed || s.restart != null) {
            return;
        }
        if (s.failing == null && s.failures >= config.maxRestarts) {
            s.failing = "its worker died " + s.failures + " times in a row (last: " + why + ")";
        }
        if (s.failing != null) {
            LOG.log(System.Logger.Level.ERROR, "worker slot " + s.index + " is failing and will not be restarted: "
                    + s.failing);
            failQueueIfAllFailing();
            return;
        }
        long delay = Math.min(config.backoffMax.toNanos(),
                config.backoffBase.toNanos() << Math.min(30, Math.max(0, s.failures - 1)));
        s.restart = later(Duration.ofNanos(delay), () -> {
            s.restart = null;
            startWorker(s);
        });
    }

    private boolean allFailing() {
        for (Slot s : slots) {
            if (s.failing == null) {
                return false;
            }
        }
        return true;
    }

    private void failQueueIfAllFailing() {
        if (!allFailing()) {
            return;
        }
        String why = "every worker is failing (" + slots.get(0).failing + ")";
        while (!queue.isEmpty()) {
            Pending p = queue.pollFirst();
            finish(p, new Result.Unavailable<>(p.name, why, p.wall()));
        }
    }

    /** A deadline or a stall window ended a request: its outcome, then what a cancel does. */
    private void expire(Pending p, Result<R> result) {
        if (finish(p, result)) {
            withdraw(p);
        }
    }

    /**
     * After a request's outcome was decided by a cancel, a deadline or a stall window: a queued task leaves the queue;
     * a pending request gets the protocol's cancel notification, and its worker is killed if no response comes within
     * the cancel grace (at once if the protocol has no cancel notification).
     */
    private void withdraw(Pending p) {
        p.stopTimers();
        kind.onCancelledExpiredOrWorkerDeath(Optional.of(p.task));
        Worker w = p.worker;
        if (w == null) {
            queue.remove(p); // still queued (or already answered): nothing was sent, or nothing is left to stop
            return;
        }
        byte[] cancel = protocol.encodeCancel(p.id);
        if (cancel == null || config.cancelGrace.isZero() || !w.job.write(cancel)) {
            killFor(w, p);
        } else {
            later(config.cancelGrace, () -> killFor(w, p));
        }
    }

    /** The worker did not answer a settled request in time: kill its tree and replace it once it is reaped. */
    private void killFor(Worker w, Pending p) {
        if (!w.dead && w.inflight.get(p.id) == p) {
            LOG.log(System.Logger.Level.DEBUG, () -> "killing worker " + w.name + ": request " + p.id + " ("
                    + p.name + ") was abandoned and got no response within the grace");
            stop(w, EndCause.CANCEL_KILL, false);
        }
    }

    /**
     * Decides a request's outcome, if nothing did before (a cancel may have, from any thread): true if this did. The
     * ticket's future completes once the lock is released; an injected task's result goes to the kind now.
     */
    private boolean finish(Pending p, Result<R> result) {
        if (!p.ticket.decide(result)) {
            return false;
        }
        if (p.injected) {
            try {
                kind.onInjectedResult(p.task, result);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "onInjectedResult failed for task " + p.name, e);
            }
        } else {
            tickets.add(p.ticket);
        }
        return true;
    }

    private static String stderrTail(Job job) {
        try {
            if (!job.isDone()) {
                return "";
            }
            var out = job.stderr();
            return new String(out.tail().length > 0 ? out.tail() : out.head(), StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** Runs {@code r} under the lock after {@code d}, on the timer thread; null once the pool is closed. */
    private ScheduledFuture<?> later(Duration d, Runnable r) {
        try {
            return timers.schedule(() -> locked(r), d.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return null;
        }
    }

    /** Runs {@code r} under the lock, then completes the futures it decided, outside the lock. */
    private void locked(Runnable r) {
        call(() -> {
            r.run();
            return null;
        });
    }

    private <V> V call(java.util.function.Supplier<V> c) {
        List<Runnable> out = null;
        Object[] decided = null;
        lock.lock();
        try {
            try {
                return c.get();
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "the pool caught an exception", e);
                throw e;
            }
        } finally {
            if (lock.getHoldCount() == 1) {
                if (!tickets.isEmpty()) {
                    decided = tickets.toArray();
                    tickets.clear();
                }
                if (!deliveries.isEmpty()) {
                    out = new ArrayList<>(deliveries);
                    deliveries.clear();
                }
            }
            lock.unlock();
            if (decided != null) {
                for (Object t : decided) {
                    ((Ticket<?>) t).deliver(); // a dependent stage that throws completes its own future with it
                }
            }
            if (out != null) {
                for (Runnable d : out) {
                    try {
                        d.run();
                    } catch (RuntimeException | Error e) {
                        LOG.log(System.Logger.Level.WARNING, "a dependent stage of a pool ticket failed", e);
                    }
                }
            }
        }
    }

    // ---- the builder -------------------------------------------------------------------------------------------

    /** Settings of a pool; every one has a default. */
    public static final class Builder<T, Q, R, C> {
        private final Supervisor supervisor;
        private final ProcessSpec worker;
        private final Protocol<Q, R> protocol;
        private final TaskKind<T, Q, R, C> kind;
        private int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        private Mode mode = Mode.PERSISTENT;
        private int maxTasks;
        private long memoryLimit;
        private Duration idle;
        private Duration deadline, stall;
        private Duration cancelGrace = Duration.ofMillis(500);
        private Duration stopGrace = Duration.ofSeconds(1);
        private int maxInFlight = 1;
        private int maxRestarts = 5;
        private Duration backoffBase = Duration.ofMillis(100), backoffMax = Duration.ofSeconds(10);
        private int quarantineAfter = 2;
        private int stderrTail = 16 * 1024;

        private Builder(Supervisor supervisor, ProcessSpec worker, Protocol<Q, R> protocol, TaskKind<T, Q, R, C> kind) {
            this.supervisor = Objects.requireNonNull(supervisor, "supervisor");
            this.worker = Objects.requireNonNull(worker, "worker");
            this.protocol = Objects.requireNonNull(protocol, "protocol");
            this.kind = Objects.requireNonNull(kind, "kind");
        }

        /** Number of workers (default: the number of processors). */
        public Builder<T, Q, R, C> workers(int n) {
            this.workers = positive("workers", n);
            return this;
        }

        /** {@link Mode#PERSISTENT} (the default) or {@link Mode#REBOOTING}. */
        public Builder<T, Q, R, C> mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Recycle a worker after it served {@code k} tasks; 0 (the default): never. */
        public Builder<T, Q, R, C> maxTasks(int k) {
            this.maxTasks = atLeastZero("maxTasks", k);
            return this;
        }

        /**
         * Recycle a worker whose memory passed {@code bytes} after a response: its cgroup's peak where the machine
         * accounts memory for it, else its leader's resident set. 0 (the default): never.
         */
        public Builder<T, Q, R, C> recycleAboveMemory(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("recycleAboveMemory must be >= 0 bytes, got " + bytes);
            }
            this.memoryLimit = bytes;
            return this;
        }

        /** Recycle a worker idle this long (it starts again when there is work); null (the default): never. */
        public Builder<T, Q, R, C> idleTimeout(Duration d) {
            this.idle = positiveOrNull("idleTimeout", d);
            return this;
        }

        /** Each request's deadline, from its sending; null (the default): none. */
        public Builder<T, Q, R, C> deadline(Duration d) {
            this.deadline = positiveOrNull("deadline", d);
            return this;
        }

        /** Each request's stall window: no progress notification for this long ends it; null (the default): none. */
        public Builder<T, Q, R, C> stall(Duration d) {
            this.stall = positiveOrNull("stall", d);
            return this;
        }

        /** How long a worker may take to answer a cancelled request before it is killed (default 500 ms). */
        public Builder<T, Q, R, C> cancelGrace(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("cancelGrace must be >= 0, got " + d);
            }
            this.cancelGrace = d;
            return this;
        }

        /** How long a recycled worker may take to exit on its own before its session gets TERM (default 1 s). */
        public Builder<T, Q, R, C> stopGrace(Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException("stopGrace must be >= 0, got " + d);
            }
            this.stopGrace = d;
            return this;
        }

        /** Requests a worker may have pending at once (default 1; more pipelines requests to it). */
        public Builder<T, Q, R, C> maxInFlight(int n) {
            this.maxInFlight = positive("maxInFlight", n);
            return this;
        }

        /**
         * A worker slot whose workers died {@code n} times in a row (deaths the pool did not ask for, with no response
         * in between) is reported failing and not restarted (default 5). Restarts wait {@code base}, doubling each
         * time up to {@code max} (defaults 100 ms and 10 s).
         */
        public Builder<T, Q, R, C> restarts(int n, Duration base, Duration max) {
            this.maxRestarts = positive("maxRestarts", n);
            this.backoffBase = Objects.requireNonNull(base, "base");
            this.backoffMax = Objects.requireNonNull(max, "max");
            return this;
        }

        /** A task that killed this many workers is not sent to another (default 2). */
        public Builder<T, Q, R, C> quarantineAfter(int deaths) {
            this.quarantineAfter = positive("quarantineAfter", deaths);
            return this;
        }

        /** Bytes of each worker's stderr kept (its tail) for {@link Result.WorkerDied} (default 16 KiB). */
        public Builder<T, Q, R, C> stderrTail(int bytes) {
            this.stderrTail = positive("stderrTail", bytes);
            return this;
        }

        /** Starts the workers. */
        public Pool<T, Q, R, C> start() {
            return new Pool<>(this);
        }

        private static int positive(String name, int n) {
            if (n < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, got " + n);
            }
            return n;
        }

        private static int atLeastZero(String name, int n) {
            if (n < 0) {
                throw new IllegalArgumentException(name + " must be >= 0, got " + n);
            }
            return n;
        }

        private static Duration positiveOrNull(String name, Duration d) {
            if (d != null && (d.isZero() || d.isNegative())) {
                throw new IllegalArgumentException(name + " must be positive (or null for none), got " + d);
            }
            return d;
        }
    }
}
