package dev.scythe.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.topic.ITopic;
import dev.scythe.CancelToken;
import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import dev.scythe.Usage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Scythe on one member of a cluster: the member's own {@link Supervisor} (sessions, cgroups, the guard) runs the
 * jobs that coordinators send it, one executor thread each.
 *
 * <p>Cancellation reaches a job three ways, and each ends as a native token cancel, never as a thread stuck in a
 * downcall: the coordinator's {@code Future.cancel(true)} interrupts the task's thread; a broadcast on the cancel
 * topic names the group; and a sticky mark in the marks map, set before the broadcast, which a task reads after it
 * registered its token, so a cancel that arrives before the task still wins. Jobs of one group on this member share
 * one token, so a claim here preempts the others here at once, natively. A coordinator that leaves the cluster has
 * its tasks cancelled.
 */
public final class FarmMember implements AutoCloseable {
    static final String KEY = "scythe.member";
    /** A member's scratch directory in {@link #scratchRoot()}: this prefix, its JVM's pid, a dash and a suffix. */
    static final String SCRATCH_PREFIX = "pid-";

    private final HazelcastInstance hz;
    private final Supervisor supervisor;
    private final boolean ownsInstance;
    private final String address;
    private final int slots;
    private final Path scratch;
    private final IMap<String, Integer> marks;
    private final ITopic<String> cancels;
    private final Map<String, Group> groups = new ConcurrentHashMap<>();
    private final UUID membershipListener;
    private final UUID topicListener;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    /** The jobs of one group here: their shared token and who sent them. */
    private static final class Group {
        final CancelToken token = CancelToken.create();
        final UUID submitter;
        int tasks;

        Group(UUID submitter) {
            this.submitter = submitter;
        }
    }

    private FarmMember(HazelcastInstance hz, boolean ownsInstance) {
        this.hz = hz;
        this.ownsInstance = ownsInstance;
        Member local = hz.getCluster().getLocalMember();
        this.address = Farm.address(local);
        this.slots = Farm.slots(local);
        if (slots <= 0) {
            throw new IllegalArgumentException("member " + address + " has no job slots: build its configuration "
                    + "with FarmConfig.member");
        }
        try {
            this.scratch = scratch();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the member's scratch directory: " + e.getMessage(), e);
        }
        this.supervisor = new Supervisor();
        this.marks = hz.getMap(Farm.MARKS);
        this.cancels = hz.getTopic(Farm.CANCELS);
        this.topicListener = cancels.addMessageListener(m -> mark(m.getMessageObject()));
        this.membershipListener = hz.getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent e) {}

            @Override
            public void memberRemoved(MembershipEvent e) {
                submitterLeft(e.getMember().getUuid());
            }
        });
        if (hz.getUserContext().putIfAbsent(KEY, this) != null) {
            close();
            throw new IllegalStateException("member " + address + " already runs Scythe");
        }
    }

    /** Starts a member with this configuration ({@link FarmConfig#member}) and Scythe on it. */
    public static FarmMember start(Config config) {
        HazelcastInstance hz = Hazelcast.newHazelcastInstance(config);
        try {
            return new FarmMember(hz, true);
        } catch (RuntimeException e) { // no slots, no scratch directory: the member leaves as it came
            hz.shutdown();
            throw e;
        }
    }

    /** Scythe on a member already started with a configuration from {@link FarmConfig#member}; close leaves it up. */
    public static FarmMember attach(HazelcastInstance hz) {
        return new FarmMember(hz, false);
    }

    static FarmMember of(HazelcastInstance hz) {
        Object m = hz == null ? null : hz.getUserContext().get(KEY);
        if (!(m instanceof FarmMember fm)) {
            throw new IllegalStateException("member " + (hz == null ? "?" : Farm.address(hz.getCluster()
                    .getLocalMember())) + " runs no Scythe (start it with 'scythe member')");
        }
        return fm;
    }

    public HazelcastInstance instance() {
        return hz;
    }

    /** This member's address, {@code host:port}. */
    public String address() {
        return address;
    }

    /** How many jobs coordinators place here at once. */
    public int slots() {
        return slots;
    }

    /** This member's scratch directory (removed when it closes). */
    Path scratchDir() {
        return scratch;
    }

    /** Jobs running here now. */
    public int running() {
        return supervisor.liveJobs();
    }

    RemoteResult run(JobTask task) throws IOException {
        Group g = join(task.group, task.submitter);
        try {
            if (!mayStart(task.group, task.submitter, g, task.raced)) {
                return notStarted(g.token);
            }
            return start(task, g);
        } finally {
            leave(task.group, g);
        }
    }

    PortfolioTask.Result run(PortfolioTask task) throws IOException, InterruptedException {
        Group g = join(task.group, task.submitter);
        try {
            if (!mayStart(task.group, task.submitter, g, false)) {
                List<RemoteResult> none = task.names.stream().map(n -> notStarted(g.token)).toList();
                return new PortfolioTask.Result(address, none, -1, false, 0);
            }
            return race(task, g);
        } finally {
            leave(task.group, g);
        }
    }

    /**
     * After the task's token is registered: the sticky mark (a cancel or a win that came before the task) and a
     * coordinator that already left both settle it before anything starts.
     */
    private boolean mayStart(String group, UUID submitter, Group g, boolean raced) {
        Integer mark = raced ? marks.get(group) : null; // only a race is cancelled by others than its coordinator
        if (mark != null) {
            settle(g, mark);
        } else if (hz.getCluster().getMembers().stream().noneMatch(m -> m.getUuid().equals(submitter))) {
            g.token.cancel(CancelToken.Reason.USER);
        }
        return !g.token.isCancelled();
    }

    /** A portfolio as a local race here, under the group's token (a cancel of the group cancels the race). */
    private PortfolioTask.Result race(PortfolioTask task, Group g) throws IOException, InterruptedException {
        Path dir = unpack("portfolio-", task.files);
        try {
            dev.scythe.Race.Builder race = dev.scythe.Race.builder().mode(task.mode).token(g.token)
                    .maxConcurrent(task.maxConcurrent).timeout(Duration.ofMillis(task.timeoutMillis));
            for (int i = 0; i < task.jobs.size(); i++) {
                RemoteJob job = task.jobs.get(i);
                race.entrant(task.names.get(i), spec(job, dir).build(), dev.scythe.SuccessCriterion.matching(
                        f -> job.success().test(f.outcome(), f.stdout().text()), "the job's success rule"));
            }
            dev.scythe.RaceResult r;
            var running = race.build().start(supervisor);
            try {
                r = running.get();
            } catch (InterruptedException e) { // the coordinator's task cancel: the race ends as cancelled
                Integer mark = marks.get(task.group);
                settle(g, mark == null ? -1 : mark);
                r = running.join();
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                throw new IllegalStateException("portfolio on " + address + " failed: " + e.getCause(), e.getCause());
            }
            List<RemoteResult> out = new java.util.ArrayList<>();
            for (dev.scythe.RaceResult.Entry e : r.entrants()) {
                byte[] kept = kept(task.jobs.get(e.index()), dir);
                var run = e.run();
                out.add(new RemoteResult(address, RemoteResult.Wire.of(e.outcome()), run.map(x -> x.pid()).orElse(0),
                        run.map(x -> x.startNanos()).orElse(0L), run.map(x -> x.exitNanos()).orElse(0L),
                        run.map(x -> x.reapedNanos()).orElse(0L), e.stdout().text(), e.stderr().text(), kept,
                        e.succeeded(), r.winner().map(w -> w.index() == e.index()).orElse(false)));
            }
            return new PortfolioTask.Result(address, out, r.winner().map(w -> w.index()).orElse(-1), r.timedOut(),
                    r.wall().toNanos());
        } finally {
            removeTree(dir);
        }
    }

    private RemoteResult start(JobTask task, Group g) throws IOException {
        Path dir = unpack("job-", task.job.files());
        try {
            Job job = supervisor.start(spec(task.job, dir).token(g.token).build());
            Outcome outcome;
            try {
                outcome = job.onExit().get();
            } catch (InterruptedException e) {
                // Future.cancel(true) at the coordinator: the race was won (the mark says by whom) or cancelled
                Integer mark = marks.get(task.group);
                settle(g, mark == null ? -1 : mark);
                outcome = job.onExit().join(); // the session is being killed: a reap away
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                throw new IllegalStateException("job on " + address + " failed: " + e.getCause(), e.getCause());
            }
            String out = outcome instanceof Outcome.SpawnFailed ? "" : job.stdout().text();
            String err = outcome instanceof Outcome.SpawnFailed ? "" : job.stderr().text();
            boolean ok = task.job.success().test(outcome, out);
            boolean claimed = ok && task.raced && claim(task, g);
            return new RemoteResult(address, RemoteResult.Wire.of(outcome), job.pid(), job.startNanos(),
                    job.exitNanos(), job.reapedNanos(), out, err, kept(task.job, dir), ok, claimed);
        } finally {
            removeTree(dir);
        }
    }

    /** A fresh directory in this member's scratch, holding the shipped files. */
    private Path unpack(String prefix, java.util.Map<String, byte[]> files) throws IOException {
        Path dir = Files.createTempDirectory(scratch, prefix);
        for (var f : files.entrySet()) {
            Files.write(dir.resolve(f.getKey()), f.getValue());
        }
        return dir;
    }

    /** The job's process, run in {@code dir} (its {@code {dir}}), with its timeout and grace. */
    private static ProcessSpec.Builder spec(RemoteJob job, Path dir) {
        ProcessSpec.Builder b = ProcessSpec.builder(job.argvIn(dir.toString()).toArray(String[]::new)).directory(dir)
                .grace(Duration.ofMillis(job.graceMillis()));
        return job.timeoutMillis() > 0 ? b.timeout(Duration.ofMillis(job.timeoutMillis())) : b;
    }

    /** The file the job asked to keep, if it wrote it. */
    private static byte[] kept(RemoteJob job, Path dir) throws IOException {
        Path f = job.keep() == null ? null : dir.resolve(job.keep());
        return f != null && Files.isRegularFile(f) ? Files.readAllBytes(f) : null;
    }

    /**
     * The cluster-wide compare-and-set: the first success anywhere puts its index in the marks map, preempts the
     * group's other jobs here natively and tells every member.
     */
    private boolean claim(JobTask task, Group g) {
        if (marks.putIfAbsent(task.group, task.index, Farm.MARK_TTL_HOURS, TimeUnit.HOURS) != null) {
            return false;
        }
        g.token.claim(task.index);
        cancels.publishAsync(Farm.message(task.group, task.index));
        return true;
    }

    /** A broadcast for a group carries its mark (set first): settle the group's token here by it. */
    private void mark(String message) {
        int sep = message.lastIndexOf(Farm.SEPARATOR);
        String group = message.substring(0, sep);
        int winner = Integer.parseInt(message.substring(sep + 1));
        Group g = groups.get(group);
        if (g != null && !g.token.isCancelled()) {
            settle(g, winner);
        }
    }

    private static void settle(Group g, int mark) {
        if (mark >= 0) {
            g.token.claim(mark);
        } else {
            g.token.cancel(CancelToken.Reason.USER);
        }
    }

    private void submitterLeft(UUID member) {
        groups.values().stream().filter(g -> g.submitter.equals(member))
                .forEach(g -> g.token.cancel(CancelToken.Reason.USER));
    }

    private Group join(String group, UUID submitter) {
        return groups.compute(group, (k, g) -> {
            Group joined = g == null ? new Group(submitter) : g;
            joined.tasks++;
            return joined;
        });
    }

    private void leave(String group, Group g) {
        groups.computeIfPresent(group, (k, cur) -> cur == g && --cur.tasks == 0 ? null : cur);
    }

    private RemoteResult notStarted(CancelToken token) {
        CancelToken.Reason reason = token.reason().orElse(CancelToken.Reason.USER);
        Outcome o = reason.equals(CancelToken.Reason.PREEMPTED)
                ? new Outcome.Preempted(token.winner().orElse(-1), -1, 0, Usage.NONE)
                : new Outcome.Cancelled(reason, -1, 0, Usage.NONE);
        return new RemoteResult(address, RemoteResult.Wire.of(o), 0, 0, 0, 0, "", "", null, false, false);
    }

    private static void removeTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Leaves the cluster (if this started the member) and closes the supervisor, which ends what still runs here. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            hz.getUserContext().remove(KEY, this);
            cancels.removeMessageListener(topicListener);
            hz.getCluster().removeMembershipListener(membershipListener);
        } catch (RuntimeException notActive) {
            // the instance is already shutting down: its listeners go with it
        }
        groups.values().forEach(g -> g.token.cancel(CancelToken.Reason.SHUTDOWN));
        if (ownsInstance && hz.getLifecycleService().isRunning()) {
            hz.shutdown();
        }
        supervisor.close();
        try {
            removeTree(scratch);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + scratch + ": " + e.getMessage(), e);
        }
    }

    /**
     * Where members keep their jobs' shipped files: Scythe's cache directory ({@code $XDG_CACHE_HOME/scythe}, else
     * {@code ~/.cache/scythe}), {@code members/}, one directory per member JVM, named by its pid. Not /tmp: a member
     * killed with -9 cannot remove its own, so the next member started on the machine removes those whose JVM is gone.
     */
    public static Path scratchRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache"))
                .resolve("scythe").resolve("members");
    }

    private static Path scratch() throws IOException {
        Path root = Files.createDirectories(scratchRoot());
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.toList()) {
                var m = java.util.regex.Pattern.compile(SCRATCH_PREFIX + "([0-9]+)-.*")
                        .matcher(d.getFileName().toString());
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                    removeTree(d); // a member that was killed: its JVM is gone
                }
            }
        }
        // one per member: a JVM may run several (tests do)
        return Files.createTempDirectory(root, SCRATCH_PREFIX + ProcessHandle.current().pid() + "-");
    }

}
