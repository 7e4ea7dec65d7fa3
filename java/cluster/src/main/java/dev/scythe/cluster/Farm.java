package dev.scythe.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import com.hazelcast.core.MemberLeftException;
import com.hazelcast.spi.exception.TargetDisconnectedException;
import com.hazelcast.spi.exception.TargetNotMemberException;
import dev.scythe.Outcome;
import dev.scythe.Usage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A coordinator's view of a Scythe cluster: the members that run jobs and their free slots, and the one way jobs
 * reach them, {@link IExecutorService#submitToMember} (never by key ownership, which silently re-runs a task on a
 * new owner when its member dies). Placement goes by free slots: a member's slots are its cores unless
 * {@code scythe member --slots} says otherwise.
 *
 * <p>A job sent to a member runs at most once. A member that leaves (killed, or silent past the heartbeat timeout)
 * ends its jobs {@link Outcome.MemberLost}; whoever sent them decides whether to send them again.
 */
public final class Farm implements AutoCloseable {
    static final String EXECUTOR = "scythe.jobs";
    static final String MARKS = "scythe.marks";
    static final String CANCELS = "scythe.cancels";
    static final String SLOTS = "scythe.slots";
    /** How long a group's mark (its winner, or its cancel) is kept: longer than any job of it may wait to start. */
    static final long MARK_TTL_HOURS = 24;

    private final HazelcastInstance hz;
    private final boolean ownsInstance;
    private final IExecutorService executor;
    private final UUID self;
    private final Map<UUID, Integer> free = new HashMap<>();
    private final Map<UUID, Member> members = new HashMap<>();
    private final UUID listener;
    private boolean closed;

    private Farm(HazelcastInstance hz, boolean ownsInstance) {
        this.hz = hz;
        this.ownsInstance = ownsInstance;
        this.executor = hz.getExecutorService(EXECUTOR);
        this.self = hz.getCluster().getLocalMember().getUuid();
        // the initial members come in order with later events: none removed meanwhile is added back
        this.listener = hz.getCluster().addMembershipListener(new com.hazelcast.cluster.InitialMembershipListener() {
            @Override
            public void init(com.hazelcast.cluster.InitialMembershipEvent e) {
                e.getMembers().forEach(Farm.this::added);
            }

            @Override
            public void memberAdded(MembershipEvent e) {
                added(e.getMember());
            }

            @Override
            public void memberRemoved(MembershipEvent e) {
                removed(e.getMember());
            }
        });
    }

    /** Joins the cluster as a coordinator (a lite member: no data, no jobs) with {@link FarmConfig#coordinator}. */
    public static Farm connect(Config coordinator) {
        if (!coordinator.isLiteMember()) {
            throw new IllegalArgumentException("a coordinator joins as a lite member: use FarmConfig.coordinator()");
        }
        return new Farm(Hazelcast.newHazelcastInstance(coordinator), true);
    }

    /** A coordinator on an instance already in the cluster; {@link #close()} leaves the instance up. */
    public static Farm attach(HazelcastInstance hz) {
        return new Farm(hz, false);
    }

    public HazelcastInstance instance() {
        return hz;
    }

    static String address(Member m) {
        return m.getAddress().getHost() + ":" + m.getAddress().getPort();
    }

    static int slots(Member m) {
        String s = m.getAttribute(SLOTS);
        try {
            return s == null ? 0 : Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private synchronized void added(Member m) {
        if (!m.isLiteMember() && slots(m) > 0 && !members.containsKey(m.getUuid())) {
            members.put(m.getUuid(), m);
            free.put(m.getUuid(), slots(m));
            notifyAll();
        }
    }

    private synchronized void removed(Member m) {
        members.remove(m.getUuid());
        free.remove(m.getUuid());
        notifyAll();
    }

    /** The members that run jobs, by address, with their slots, in the cluster's order. */
    public synchronized Map<String, Integer> members() {
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        for (Member m : hz.getCluster().getMembers()) {
            if (members.containsKey(m.getUuid())) {
                out.put(address(m), slots(m));
            }
        }
        return out;
    }

    /** Each member's free slots now, by address (negative when a race overcommits it). */
    public synchronized Map<String, Integer> free() {
        Map<String, Integer> out = new java.util.LinkedHashMap<>();
        members.values().forEach(m -> out.put(address(m), free.get(m.getUuid())));
        return out;
    }

    /** The slots of every member that runs jobs. */
    public synchronized int slots() {
        return members.values().stream().mapToInt(Farm::slots).sum();
    }

    /** The member at {@code address} ({@code host:port}), if it runs jobs. */
    public synchronized Optional<Member> member(String address) {
        return members.values().stream().filter(m -> address(m).equals(address)).findFirst();
    }

    /** The member with the most free slots, taking {@code n} of them even if that overcommits it (a race's entrants). */
    synchronized Member place(int n) {
        Member m = mostFree().orElseThrow(() -> new IllegalStateException(
                "no member of cluster '" + hz.getConfig().getClusterName() + "' runs jobs (start one with "
                        + "'scythe member')"));
        free.merge(m.getUuid(), -n, Integer::sum);
        return m;
    }

    /** Takes {@code n} slots of {@code m}, even if that overcommits it (a race's entrant placed there by name). */
    synchronized Member take(Member m, int n) {
        if (members.containsKey(m.getUuid())) {
            free.merge(m.getUuid(), -n, Integer::sum);
        }
        return m;
    }

    /** Waits for a member with {@code n} free slots (or all of a member's, if it has fewer) and takes them. */
    synchronized Member placeWhenFree(int n) throws InterruptedException {
        while (true) {
            if (members.isEmpty()) {
                throw new IllegalStateException("no member of cluster '" + hz.getConfig().getClusterName()
                        + "' runs jobs any more");
            }
            if (closed) {
                throw new IllegalStateException("the coordinator left cluster '" + hz.getConfig().getClusterName()
                        + "'");
            }
            Optional<Member> m = members.values().stream()
                    .filter(x -> free.get(x.getUuid()) >= Math.min(n, slots(x)))
                    .max(Comparator.comparingInt((Member x) -> free.get(x.getUuid())));
            if (m.isPresent()) {
                free.merge(m.get().getUuid(), -n, Integer::sum);
                return m.get();
            }
            wait(1000);
        }
    }

    synchronized void release(Member m, int n) {
        if (members.containsKey(m.getUuid())) {
            free.merge(m.getUuid(), n, Integer::sum);
            notifyAll();
        }
    }

    private Optional<Member> mostFree() {
        return members.values().stream().max(Comparator.comparingInt((Member m) -> free.get(m.getUuid()))
                .thenComparing(m -> -slots(m)));
    }

    /** Sends one job of {@code group} to {@code member}; the future never fails: a lost member is an outcome. */
    Submitted<RemoteResult> submit(String group, int index, RemoteJob job, Member member) {
        return submit(group, index, job, member, true);
    }

    /** {@code raced}: one of a race's entrants (it reads the race's mark and claims it); else a job on its own. */
    private Submitted<RemoteResult> submit(String group, int index, RemoteJob job, Member member, boolean raced) {
        Submitted<RemoteResult> s = send(new JobTask(group, index, self, job, raced), member,
                e -> failed(member, e));
        return new Submitted<>(s.member(), s.future(), s.result().thenApply(r -> shutDown(member, r)));
    }

    /**
     * A job its member ended because the member was shutting down is lost with the member, as far as the sender is
     * concerned: it did not end on its own, and nothing cancelled it from here.
     */
    static RemoteResult shutDown(Member member, RemoteResult r) {
        if (r.toOutcome() instanceof Outcome.Cancelled c && c.reason().equals(dev.scythe.CancelToken.Reason.SHUTDOWN)) {
            return new RemoteResult(r.member(), RemoteResult.Wire.of(new Outcome.MemberLost(address(member),
                    c.usage())), r.pid(), r.startNanos(), r.exitNanos(), r.reapedNanos(), r.stdout(), r.stderr(),
                    null, false, false);
        }
        return r;
    }

    /** Sends a whole portfolio to {@code member}, to race there; a lost member makes every entrant's outcome. */
    Submitted<PortfolioTask.Result> submit(PortfolioTask task, Member member) {
        Submitted<PortfolioTask.Result> s = send(task, member, e -> new PortfolioTask.Result(address(member),
                task.names.stream().map(n -> failed(member, e)).toList(), -1, false, 0));
        return new Submitted<>(s.member(), s.future(), s.result().thenApply(r -> new PortfolioTask.Result(r.member(),
                r.entrants().stream().map(x -> shutDown(member, x)).toList(), r.winner(), r.timedOut(),
                r.wallNanos())));
    }

    UUID self() {
        return self;
    }

    private <T> Submitted<T> send(java.util.concurrent.Callable<T> task, Member member,
            java.util.function.Function<Throwable, T> failure) {
        Future<T> f;
        try {
            f = executor.submitToMember(task, member);
        } catch (RuntimeException e) {
            return new Submitted<>(member, null, CompletableFuture.completedFuture(failure.apply(e)));
        }
        // Hazelcast 5's executor futures are CompletableFutures (InternalCompletableFuture)
        CompletableFuture<T> result = ((CompletableFuture<T>) f).handle((r, e) -> e == null ? r : failure.apply(e));
        return new Submitted<>(member, f, result);
    }

    /** A task on its way: cancel(true) of {@code future} interrupts its thread on the member. */
    record Submitted<T>(Member member, Future<T> future, CompletableFuture<T> result) {
        void interrupt() {
            if (future != null) {
                future.cancel(true);
            }
        }
    }

    /**
     * What a job's failure at the coordinator says: a member that left is MemberLost, anything else the job's. The
     * coordinator's own instance going down is neither: the job's future fails, and the run stops (to be resumed).
     */
    RemoteResult failed(Member member, Throwable e) {
        if (!hz.getLifecycleService().isRunning()) {
            throw new CompletionException(new java.io.IOException("the coordinator left cluster '"
                    + hz.getConfig().getClusterName() + "' with jobs on " + address(member), e));
        }
        while ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null) {
            e = e.getCause();
        }
        Outcome o;
        if (lost(e)) {
            o = new Outcome.MemberLost(address(member), Usage.NONE);
        } else if (e instanceof CancellationException) {
            o = new Outcome.Cancelled(dev.scythe.CancelToken.Reason.USER, -1, 0, Usage.NONE);
        } else {
            o = new Outcome.SpawnFailed(0, "on member " + address(member) + ": " + e);
        }
        return new RemoteResult(address(member), RemoteResult.Wire.of(o), 0, 0, 0, 0, "", "", null, false, false);
    }

    private static boolean lost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            // OperationTimeoutException: the member stopped acknowledging the task for the operation heartbeat
            // timeout; what became of it is as unknown as if the member had left
            if (t instanceof MemberLeftException || t instanceof TargetNotMemberException
                    || t instanceof TargetDisconnectedException
                    || t instanceof com.hazelcast.core.OperationTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Cancels every job of {@code group} on every member, those not yet started too: the sticky mark (unless a
     * winner already holds it), then the broadcast.
     */
    void cancel(String group) {
        Object prior = hz.getMap(MARKS).putIfAbsent(group, -1, MARK_TTL_HOURS, TimeUnit.HOURS);
        hz.getTopic(CANCELS).publish(message(group, prior == null ? -1 : (Integer) prior));
    }

    /** Between a group and the winner's index (-1: a cancel) in a broadcast. */
    static final char SEPARATOR = '\n';

    /** A broadcast: the group and its mark, the winner's index or -1 for a cancel. */
    static String message(String group, int winner) {
        return group + SEPARATOR + winner;
    }

    /** Runs one job on the member with the most free slots, once a slot is free; never re-sent. */
    public CompletableFuture<RemoteResult> run(RemoteJob job) throws InterruptedException {
        Member m = placeWhenFree(1);
        Submitted<RemoteResult> s = submit("job-" + UUID.randomUUID(), 0, job, m, false);
        return s.result().whenComplete((r, e) -> release(m, 1));
    }

    /** Members' addresses that run jobs. */
    public List<String> addresses() {
        return new ArrayList<>(members().keySet());
    }

    /** Leaves the cluster if this farm joined it; whoever waits for a slot is told. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            hz.getCluster().removeMembershipListener(listener);
        } catch (RuntimeException notActive) {
            // shutting down already
        }
        if (ownsInstance) {
            hz.shutdown();
        }
    }
}
