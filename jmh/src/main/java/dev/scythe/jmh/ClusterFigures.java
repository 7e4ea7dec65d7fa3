package dev.scythe.jmh;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import com.hazelcast.map.IMap;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Race;
import dev.scythe.RaceResult;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import dev.scythe.cluster.ClusterAttempts;
import dev.scythe.cluster.ClusterRace;
import dev.scythe.cluster.Farm;
import dev.scythe.cluster.FarmConfig;
import dev.scythe.cluster.FarmMember;
import dev.scythe.cluster.RemoteJob;
import dev.scythe.eval.Corpus;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Provers;
import dev.scythe.eval.ResultsDatabase;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Scythe across a cluster ({@code scripts/bench --cluster}): member JVMs started here as real processes on
 * 127.0.0.1 ({@link Member}), this JVM their coordinator. Two figures: a race's preemption from a winner on one
 * member to the reap of its loser on another, against the same race under a local supervisor; and the corpus, provers
 * alone, on one and two member JVMs against the same evaluation run locally, one attempt at a time.
 *
 * <p>Three clusters run side by side for the whole section, each with its own name and ports: one member JVM of 2
 * slots, two of 1 slot (the race's too), two of 2 slots. Every member JVM started here is ended in a finally: its stdin
 * closed (it then leaves the cluster and closes its supervisor), then destroy, then destroyForcibly.
 */
public final class ClusterFigures {
    /** Hazelcast's INFO lines would drown the report's own output; warnings stay (held: JUL keeps loggers weakly). */
    private static final Logger HAZELCAST = Logger.getLogger("com.hazelcast");

    static {
        FarmConfig.quietLogging();
    }

    /** The JDK internals Hazelcast asks for (the root pom's hazelcast.opens), given to every member JVM. */
    static final List<String> OPENS = List.of("--add-modules", "java.se",
            "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-opens", "java.base/java.lang=ALL-UNNAMED",
            "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens", "java.management/sun.management=ALL-UNNAMED",
            "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED");

    /**
     * The corpus's problems of this section: the ones minisat and cadical (cnf), and z3 (smt2), each solve within a
     * second on one core; from 5 ms to 0.8 s each.
     */
    static final List<String> PROBLEMS = List.of("cnf/php-8-7.cnf", "cnf/php-9-8.cnf", "cnf/planted3sat-250-1.cnf",
            "cnf/planted3sat-300-0.cnf", "cnf/planted3sat-300-1.cnf", "cnf/planted3sat-350-0.cnf",
            "cnf/planted3sat-350-1.cnf", "cnf/planted3sat-400-0.cnf", "cnf/planted3sat-400-1.cnf",
            "cnf/random3sat-200-0.cnf", "cnf/random3sat-200-1.cnf", "cnf/random3sat-250-0.cnf",
            "cnf/random3sat-300-0.cnf", "smt2/factor-prime-16.smt2", "smt2/factor-prime-20.smt2",
            "smt2/factor-composite-16.smt2", "smt2/factor-composite-20.smt2", "smt2/lia-pigeon-6.smt2",
            "smt2/lia-planted-18.smt2", "smt2/uf-holes-9-8.smt2");
    static final List<String> PROVERS = List.of("minisat", "cadical", "z3");
    /** Each attempt's limit: ample, since every attempt takes under a second alone. */
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** The race's winner: exits 0 after this long, by which time the loser runs on its own member. */
    private static final String WINNER = "sleep 0.2";
    private static final Duration RACE_LIMIT = Duration.ofSeconds(20);
    private static final Duration GRACE = Duration.ofMillis(200);

    private ClusterFigures() {}

    /**
     * A member JVM: {@code ClusterFigures$Member CLUSTER PORT SLOTS JOIN} (JOIN: {@code host:port,...}, or {@code -}
     * for none) starts a member on 127.0.0.1, prints {@code ready HOST:PORT} and runs until its stdin closes.
     */
    public static final class Member {
        private Member() {}

        public static void main(String[] args) throws IOException {
            FarmConfig.quietLogging();
            List<String> join = args[3].equals("-") ? List.of() : List.of(args[3].split(","));
            FarmMember m = FarmMember.start(new FarmConfig(args[0], "127.0.0.1", Integer.parseInt(args[1]), join,
                    Duration.ofSeconds(10)).member(Integer.parseInt(args[2])));
            try {
                System.out.println("ready " + m.address());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // until the benchmark closes our stdin, or dies
                }
            } finally {
                m.close();
            }
            System.exit(0);
        }
    }

    /** A member JVM started by this one. */
    private static final class MemberJvm implements AutoCloseable {
        private final Process process;
        private final CompletableFuture<String> ready = new CompletableFuture<>();

        MemberJvm(String cluster, int port, int slots, List<String> join) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "--enable-native-access=ALL-UNNAMED"));
            cmd.addAll(OPENS);
            cmd.add("--sun-misc-unsafe-memory-access=allow"); // Hazelcast's shaded JCTools: a warning per JVM
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Member.class.getName(), cluster,
                    Integer.toString(port), Integer.toString(slots), join.isEmpty() ? "-" : String.join(",", join)));
            process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            Thread.ofVirtual().start(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        if (!ready.isDone() && line.startsWith("ready ")) {
                            ready.complete(line.substring(6).strip());
                        } else {
                            System.err.println("member " + process.pid() + ": " + line);
                        }
                    }
                } catch (IOException e) {
                    // the process is gone
                }
                ready.completeExceptionally(new IllegalStateException("member JVM " + process.pid()
                        + " ended before it was ready"));
            });
        }

        /** The member's address, once it is in its cluster. */
        String address() throws InterruptedException {
            try {
                return ready.get(90, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            } catch (TimeoutException e) {
                throw new IllegalStateException("member JVM " + process.pid() + " not ready after 90 s");
            }
        }

        /** Its stdin closed (it leaves and closes its supervisor), then destroy, then destroyForcibly. */
        @Override
        public void close() {
            try {
                process.getOutputStream().close();
            } catch (IOException gone) {
                // already dead
            }
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroy();
                    if (!process.waitFor(5, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                        process.waitFor(5, TimeUnit.SECONDS);
                    }
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** One of the clusters: its member JVMs' count and slots, and its coordinator once connected. */
    private record Cluster(String label, int jvms, int slots, List<MemberJvm> members, Farm[] farm) {
        Cluster(String label, int jvms, int slots) {
            this(label, jvms, slots, new ArrayList<>(), new Farm[1]);
        }

        int totalSlots() {
            return jvms * slots;
        }
    }

    /** The section "## Across a cluster". */
    static String section(boolean quick) throws Exception {
        int warm = Integer.getInteger("scythe.bench.cluster.warm", quick ? 5 : 20), rounds = quick ? 15 : 40,
                passes = quick ? 1 : 3;
        Path corpus = Path.of("corpus");
        List<Provers.Prover> provers = Provers.ALL.stream().filter(p -> PROVERS.contains(p.name()))
                .filter(Provers.Prover::installed).toList();
        List<Provers.Problem> problems = Files.isDirectory(corpus) ? Corpus.scan(corpus).stream()
                .filter(p -> PROBLEMS.contains(p.id())).sorted(Comparator.comparing(p -> PROBLEMS.indexOf(p.id())))
                .toList() : List.of();
        String run = "scythe-bench-" + UUID.randomUUID().toString().substring(0, 8);
        int base = freePorts(30);
        List<Cluster> clusters = List.of(new Cluster("1 member JVM x 2 slots", 1, 2),
                new Cluster("2 member JVMs x 1 slot", 2, 1), new Cluster("2 member JVMs x 2 slots", 2, 2));
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < 2; i++) { // the first members, then those that join them
                for (int k = 0; k < clusters.size(); k++) {
                    Cluster c = clusters.get(k);
                    if (i < c.jvms()) {
                        List<String> join = i == 0 ? List.of() : List.of(c.members().get(0).address());
                        c.members().add(new MemberJvm(run + "-" + k, base + 10 * k + i, c.slots(), join));
                    }
                }
                for (Cluster c : clusters) {
                    c.members().forEach(m -> {
                        try {
                            m.address();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                }
            }
            for (int k = 0; k < clusters.size(); k++) {
                Cluster c = clusters.get(k);
                c.farm()[0] = Farm.connect(new FarmConfig(run + "-" + k, "127.0.0.1", base + 10 * k + 5,
                        List.of(c.members().get(0).address()), Duration.ofSeconds(10)).coordinator());
                long until = System.nanoTime() + 30_000_000_000L;
                while (c.farm()[0].members().size() < c.jvms()) {
                    if (System.nanoTime() > until) {
                        throw new IllegalStateException(c.label() + ": the coordinator sees " + c.farm()[0]
                                .members() + " after 30 s");
                    }
                    Thread.sleep(50);
                }
            }
            System.out.printf(Locale.ROOT, "ClusterFigures: 5 member JVMs and 3 coordinators up in %.1f s%n",
                    (System.nanoTime() - t0) / 1e9);
            Preemption p = preemption(clusters.get(1).farm()[0], warm, rounds);
            String corpusPart = provers.size() < PROVERS.size() || problems.size() < PROBLEMS.size()
                    ? "\nThe corpus: skipped (needs corpus/ and " + PROVERS + " installed; found " + provers.stream()
                            .map(Provers.Prover::name).toList() + " and " + problems.size() + " of the "
                            + PROBLEMS.size() + " problems).\n"
                    : corpus(clusters, problems, provers, passes);
            return p.text(warm, rounds) + corpusPart;
        } finally {
            // Those that stay log a warning for each peer stopped on purpose (a connection refused, lost partitions
            // of a lite member left alone): Hazelcast is quiet from here, here and on the members it can reach.
            HAZELCAST.setLevel(Level.SEVERE);
            for (Cluster c : clusters) {
                Farm f = c.farm()[0];
                if (f != null) {
                    try {
                        IExecutorService quiet = f.instance().getExecutorService(BENCH + ".teardown");
                        for (com.hazelcast.cluster.Member m : f.instance().getCluster().getMembers()) {
                            if (!m.isLiteMember()) {
                                quiet.submitToMember(new Probe("quiet", ""), m).get(10, TimeUnit.SECONDS);
                            }
                        }
                        f.close();
                    } catch (RuntimeException | ExecutionException | TimeoutException e) {
                        System.err.println("ClusterFigures: closing the coordinator of " + c.label() + ": " + e);
                        f.close();
                    }
                }
            }
            for (int i = 1; i >= 0; i--) { // the last to join first, one at a time
                for (Cluster c : clusters) {
                    if (i < c.members().size()) {
                        c.members().get(i).close();
                    }
                }
            }
            HAZELCAST.setLevel(Level.WARNING);
        }
    }

    /** A base port with {@code n} ports from it free on 127.0.0.1 now (Hazelcast moves on from a taken one anyway). */
    private static int freePorts(int n) throws IOException {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20_000, 40_000);
            boolean free = true;
            for (int i = 0; i < n && free; i++) {
                try (ServerSocket s = new ServerSocket(base + i, 1, lo)) {
                    s.setReuseAddress(true);
                } catch (IOException taken) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IOException("no " + n + " free ports in a row on 127.0.0.1");
    }

    /**
     * Preemption, ns: per round the cluster's figure (winner's exit on A to the loser's reap on B) and the local one,
     * and, of each, the part to the loser's exit; then the pieces of the way, each measured apart.
     */
    private record Preemption(long[] cluster, long[] clusterToExit, long[] local, long[] localToExit, int missed,
            long[] hop, long[] trip, long[] get, long[] claim, long[] wake) {
        String text(int warm, int rounds) {
            double[] c = ms(cluster), l = ms(local), ce = ms(clusterToExit), le = ms(localToExit);
            StringBuilder s = new StringBuilder("\n## Across a cluster\n\n");
            s.append(String.format(Locale.ROOT, "`ClusterFigures` (`scripts/bench --cluster`): Scythe on a Hazelcast "
                    + "5.7.0 cluster (scythe-cluster) whose members are JVMs started for the run on this machine, on "
                    + "127.0.0.1 only (`ClusterFigures$Member`: `FarmMember.start`, a 10 s heartbeat), with this JVM "
                    + "as the coordinator (a lite member). Three clusters run side by side for the "
                    + "whole section, each with its own name and ports: one member JVM of 2 slots, two of 1 slot, two "
                    + "of 2 slots; the idle ones only keep their heartbeats meanwhile.%n%n"
                    + "### A race across two members%n%n"
                    + "A `ClusterRace` of two entrants: `sh -c '%s'` (the winner, exit 0) on member A and `sleep 30` "
                    + "(the loser) on member B, the two member JVMs of 1 slot each. The figure is the race's own "
                    + "`RaceResult.preemptionNanos`: from the winner's exit on A to the loser's reap on B, on the "
                    + "members' `System.nanoTime`, which is one clock for JVMs on one machine. On the way: A's "
                    + "supervisor reaps the winner and completes its job; the task's thread, waiting on it, claims the "
                    + "race in the cluster's marks map (a compare-and-set at the key's owner) and publishes the win on "
                    + "the cancel topic, the winner's index in the message; B's listener claims the race on its "
                    + "local token with that index, whose "
                    + "native loop kills the loser's session (SIGTERM, on which `sleep` exits) and reaps it. The floor "
                    + "is the same two entrants as a local `Race` under this JVM's supervisor (the claim and the kill "
                    + "in one native loop). %d rounds after %d warm-up ones, interleaved (local, cluster, local, ...). "
                    + "Target (the cluster's issue): the cross-member p50 within 10 ms on loopback.%n%n", WINNER,
                    rounds, warm));
            s.append("| race | winner's exit to the loser's reap, p50 ms | p90 ms | max ms | p50 ratio to the local "
                    + "floor | of it, to the loser's exit, p50 ms |\n|---|---:|---:|---:|---:|---:|\n");
            s.append(String.format(Locale.ROOT, "| local `Race`, one supervisor (floor) | %.2f | %.2f | %.2f | 1.00 "
                    + "| %.2f |%n", l[0], l[1], l[2], le[0]));
            s.append(String.format(Locale.ROOT, "| `ClusterRace`, winner on A, loser on B | %.2f | %.2f | %.2f | "
                    + "%.1f | %.2f |%n", c[0], c[1], c[2], c[0] / l[0], ce[0]));
            s.append(String.format(Locale.ROOT, "%nThe cross-member p50 is %.2f ms: %s the 10 ms goal.%s Almost all "
                    + "of it lies before the loser's exit: the win travelling from A's supervisor to B's.%n",
                    c[0], c[0] <= 10 ? "within" : String.format(Locale.ROOT, "%.2f ms over", c[0] - 10),
                    missed == 0 ? "" : " " + missed + " rounds gave no figure (the loser had not started when the "
                            + "winner exited) and are left out."));
            s.append(String.format(Locale.ROOT, "%nThe pieces of the way, each measured apart after the races (%d "
                    + "samples each after as many warm-up ones; the last, %d after %d):%n%n"
                    + "| piece | p50 ms | p90 ms |%n|---|---:|---:|%n", hop.length, wake.length, warm));
            for (Object[] row : new Object[][] {
                {"a task's trip from this JVM to B (sent here to running there, one clock)", ms(hop)},
                {"a task's round trip, this JVM to B and back", ms(trip)},
                {"an `IMap.get` from this JVM (one round trip to the key's owner)", ms(get)},
                {"the claim's messages alone, as the members make them but without Scythe: on A a task makes the "
                        + "compare-and-set (same TTL) and publishes on a topic; on B a listener takes the message",
                        ms(claim)},
                {"a job's exit to the wake-up of a thread waiting on its `onExit` (this JVM's supervisor; on A a "
                        + "task's thread waits so)", ms(wake)}}) {
                double[] p = (double[]) row[1];
                s.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f |%n", row[0], p[0], p[1]));
            }
            double known = ms(claim)[0] + ms(wake)[0] + l[0];
            s.append(String.format(Locale.ROOT, "%nThe claim's messages, a job's end reaching a waiting thread and the "
                    + "local kill and reap add up to %.2f ms at their p50s, %.2f ms short of the cross-member p50: "
                    + "what the members' JVMs take beyond them (their task and event threads waking on 2 cores shared "
                    + "by 5 member JVMs, the coordinator and the jobs, and code that %d races leave only partly "
                    + "compiled there). The warm-up is a knob: `java -Dscythe.bench.cluster.warm=N -cp "
                    + "jmh/target/benchmarks.jar dev.scythe.jmh.BenchmarkReport --cluster FILE`; a member JVM of a "
                    + "farm runs its claim path thousands of times, and with more warm-up rounds the p50 falls (a trace "
                    + "on the members put the largest step of a cold one in A's compare-and-set).%n", known,
                    c[0] - known, warm + rounds));
            return s.toString();
        }
    }

    private static com.hazelcast.cluster.Member member(HazelcastInstance hz, String address) {
        return hz.getCluster().getMembers().stream().filter(m -> !m.isLiteMember()
                && (m.getAddress().getHost() + ":" + m.getAddress().getPort()).equals(address)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no member " + address));
    }

    private static Preemption preemption(Farm farm, int warm, int rounds) throws Exception {
        List<String> at = farm.addresses();
        String a = at.get(0), b = at.get(1);
        ClusterRace race = ClusterRace.of(List.of(
                new ClusterRace.Entrant("winner", new RemoteJob(List.of("sh", "-c", WINNER), Map.of(),
                        RACE_LIMIT.toMillis(), GRACE.toMillis(), null, RemoteJob.Success.EXIT_ZERO), a),
                new ClusterRace.Entrant("loser", new RemoteJob(List.of("sleep", "30"), Map.of(),
                        RACE_LIMIT.toMillis(), GRACE.toMillis(), null, RemoteJob.Success.EXIT_ZERO), b)), RACE_LIMIT);
        // as a member runs a job: its output captured, SIGTERM then SIGKILL after the same grace
        Race local = Race.builder().timeout(RACE_LIMIT)
                .entrant("winner", ProcessSpec.builder("sh", "-c", WINNER).stdout(Redirect.capture())
                        .stderr(Redirect.capture()).grace(GRACE).build())
                .entrant("loser", ProcessSpec.builder("sleep", "30").stdout(Redirect.capture())
                        .stderr(Redirect.capture()).grace(GRACE).build()).build();
        long[] cl = new long[rounds], clExit = new long[rounds], lo = new long[rounds], loExit = new long[rounds];
        int nc = 0, nl = 0, missed = 0;
        try (Supervisor s = new Supervisor()) {
            for (int i = 0; i < warm + rounds; i++) {
                RaceResult l = local.run(s);
                RaceResult c = race.run(farm).race();
                for (RaceResult r : List.of(l, c)) {
                    if (!r.winner().map(w -> w.name().equals("winner")).orElse(false)) {
                        throw new IllegalStateException("the winner did not win: " + r);
                    }
                }
                if (i < warm) {
                    continue;
                }
                long[] x = split(l);
                if (x == null) {
                    throw new IllegalStateException("the local loser was not preempted: " + l);
                }
                lo[nl] = x[0];
                loExit[nl++] = x[1];
                long[] y = split(c);
                if (y == null) {
                    missed++;
                } else {
                    cl[nc] = y[0];
                    clExit[nc++] = y[1];
                }
            }
        }
        if (nc == 0) {
            throw new IllegalStateException("no cluster round preempted its loser");
        }
        // The pieces: the cluster's own messages (a task's trip to B and back, an IMap round trip), the claim's
        // messages alone between A and B, and a job's end reaching a waiting thread
        HazelcastInstance hz = farm.instance();
        com.hazelcast.cluster.Member onA = member(hz, a), onB = member(hz, b);
        IExecutorService executor = hz.getExecutorService(BENCH);
        IMap<String, Integer> map = hz.getMap(BENCH);
        map.put("key", 1);
        int samples = 10 * rounds;
        long[] hop = new long[samples], trip = new long[samples], get = new long[samples], claim = new long[samples];
        executor.submitToMember(new Probe("listen", ""), onB).get();
        for (int i = -samples; i < samples; i++) { // as many warm-up ones first
            long t0 = System.nanoTime();
            long there = executor.submitToMember(new Probe("clock", ""), onB).get();
            long t1 = System.nanoTime();
            map.get("key");
            long t2 = System.nanoTime();
            String key = "group-" + i;
            long claimed = executor.submitToMember(new Probe("claim", key), onA).get();
            long read = executor.submitToMember(new Probe("arrived", key), onB).get();
            if (read < 0) {
                throw new IllegalStateException("the probe's message never reached member " + b);
            }
            if (i >= 0) {
                hop[i] = there - t0;
                trip[i] = t1 - t0;
                get[i] = t2 - t1;
                claim[i] = read - claimed;
            }
        }
        hz.getMap(BENCH_MARKS).destroy();
        hz.getTopic(BENCH).destroy();
        map.destroy();
        executor.destroy();
        long[] wake = new long[rounds];
        try (Supervisor s = new Supervisor()) {
            for (int i = -warm; i < rounds; i++) {
                dev.scythe.Job j = s.start(ProcessSpec.builder("sh", "-c", "sleep 0.05").stdout(Redirect.capture())
                        .stderr(Redirect.capture()).grace(GRACE).build());
                j.onExit().get();
                long t = System.nanoTime();
                if (i >= 0) {
                    wake[i] = t - j.exitNanos();
                }
            }
        }
        return new Preemption(Arrays.copyOf(cl, nc), Arrays.copyOf(clExit, nc), lo, loExit, missed, hop, trip, get,
                claim, wake);
    }

    /** The names of the probes' executor, map and topic; the probes' marks map. */
    private static final String BENCH = "scythe.bench", BENCH_MARKS = "scythe.bench.marks";

    /** What a {@link Probe} saw on its member: a group's message to the time its listener had read the mark. */
    private static final Map<String, Long> ARRIVED = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Runs on a member: "clock" returns its clock; "quiet" leaves only Hazelcast's severe messages; "listen" (on B) notes when each message of the bench topic arrives,
     * as a member does for the cancel topic, and notes when; "claim" (on A) makes the compare-and-set and publishes,
     * as a winner's member does, and returns when it began; "arrived" (on B) returns the note.
     */
    private static final class Probe implements Callable<Long>, Serializable,
            com.hazelcast.core.HazelcastInstanceAware {
        private static final long serialVersionUID = 1L;
        private final String op;
        private final String key;
        private transient HazelcastInstance hz;

        Probe(String op, String key) {
            this.op = op;
            this.key = key;
        }

        @Override
        public void setHazelcastInstance(HazelcastInstance hz) {
            this.hz = hz;
        }

        @Override
        public Long call() throws InterruptedException {
            long now = System.nanoTime();
            IMap<String, Integer> marks = hz.getMap(BENCH_MARKS);
            com.hazelcast.topic.ITopic<String> topic = hz.getTopic(BENCH);
            switch (op) {
                case "clock" -> {
                    return now;
                }
                case "quiet" -> Logger.getLogger("com.hazelcast").setLevel(Level.SEVERE); // held by FarmConfig
                case "listen" -> topic.addMessageListener(m -> ARRIVED.put(m.getMessageObject(), System.nanoTime()));
                case "claim" -> {
                    marks.putIfAbsent(key, 0, 24, TimeUnit.HOURS);
                    topic.publishAsync(key);
                    return now;
                }
                default -> {
                    long until = now + 5_000_000_000L;
                    while (!ARRIVED.containsKey(key) && System.nanoTime() < until) {
                        Thread.sleep(1);
                    }
                    Long at = ARRIVED.remove(key);
                    return at == null ? -1 : at;
                }
            }
            return 0L;
        }
    }

    /** {preemptionNanos, winner's exit to the loser's exit}, or null when the loser was not preempted running. */
    private static long[] split(RaceResult r) {
        RaceResult.Entry loser = r.entrants().get(1);
        if (!(loser.outcome() instanceof Outcome.Preempted) || loser.run().isEmpty()
                || r.preemptionNanos().isEmpty()) {
            return null;
        }
        long winnerExit = r.entrants().get(0).run().orElseThrow().exitNanos();
        return new long[] {r.preemptionNanos().getAsLong(), loser.run().get().exitNanos() - winnerExit};
    }

    /** p50, p90 and max in ms. */
    private static double[] ms(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return new double[] {s[s.length / 2] / 1e6, s[(int) (s.length * 0.9)] / 1e6, s[s.length - 1] / 1e6};
    }

    /** One evaluation's pass: its wall time (first attempt sent to last one recorded), attempts and what they did. */
    private record Pass(double wall, int attempts, double own, int solved, Map<String, Integer> where) {}

    private static Pass pass(List<Provers.Problem> problems, List<Provers.Prover> provers, Farm farm)
            throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        Evaluation ev = new Evaluation(problems, provers, new Evaluation.Settings(TIMEOUT, cores, List.of(), null));
        long[] t = new long[2];
        Evaluation.Listener timing = (done, total, what) -> {
            if (done == 0 && t[0] == 0) {
                t[0] = System.nanoTime();
            }
            if (done == total) {
                t[1] = System.nanoTime();
            }
        };
        Path dir = Files.createTempDirectory("scythe-cluster-figures");
        try {
            try (Supervisor s = new Supervisor(); ResultsDatabase db = ResultsDatabase.open(dir.resolve("results.db"))) {
                if (farm == null) {
                    ev.run(s, db, timing);
                } else {
                    ev.run(new ClusterAttempts(farm, cores, 1), s, db, timing);
                }
            }
            List<Evaluation.Run> runs = ev.runs();
            Map<String, Integer> where = new TreeMap<>();
            for (Evaluation.Run r : runs) {
                int on = r.detail().indexOf("; on ");
                if (on >= 0) {
                    where.merge(r.detail().substring(on + 5).split(";")[0].strip(), 1, Integer::sum);
                }
            }
            return new Pass((t[1] - t[0]) / 1e9, runs.size(), runs.stream().mapToDouble(Evaluation.Run::seconds)
                    .sum(), (int) runs.stream().filter(Evaluation.Run::solved).count(), where);
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path f : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private static String corpus(List<Cluster> clusters, List<Provers.Problem> problems, List<Provers.Prover> provers,
            int passes) throws Exception {
        // Warm-up: a few problems everywhere (the JITs of this JVM and the members, the provers' pages)
        List<Provers.Problem> few = problems.subList(0, Math.min(6, problems.size()));
        pass(few, provers, null);
        for (Cluster c : clusters) {
            pass(few, provers, c.farm()[0]);
        }
        List<List<Pass>> by = new ArrayList<>();
        for (int k = 0; k <= clusters.size(); k++) {
            by.add(new ArrayList<>());
        }
        for (int r = 0; r < passes; r++) { // interleaved: local, then each cluster, in every round
            by.get(0).add(pass(problems, provers, null));
            for (int k = 0; k < clusters.size(); k++) {
                by.get(k + 1).add(pass(problems, provers, clusters.get(k).farm()[0]));
            }
        }
        for (List<Pass> ps : by) {
            for (Pass p : ps) {
                if (p.solved() != p.attempts()) {
                    System.err.println("ClusterFigures: a pass solved " + p.solved() + " of " + p.attempts());
                }
            }
        }
        Pass local = median(by.get(0));
        int attempts = local.attempts();
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%n### The corpus on one and two member "
                + "JVMs%n%n%d problems of the corpus that minisat and cadical (cnf) or z3 (smt2) each solve within a "
                + "second alone (`ClusterFigures.PROBLEMS`: from 5 ms to 0.8 s), provers alone only (no portfolio), "
                + "%d attempts a pass, %d s limit each: `Evaluation.run` locally (one attempt at a time, the "
                + "evaluation's own way on one machine) and through `ClusterAttempts` on each cluster (as many "
                + "attempts at once as the cluster has slots, each to the member with the most free slots; the "
                + "problem's file travels with its attempt and the prover's output and model come back). %s, "
                + "interleaved (local, then each cluster), after a warm-up pass of %d problems on each; the medians. "
                + "Wall: from the first attempt's start to the last one's row (the provers' version commands and "
                + "the database's setup left out). The floor: the sum of the provers' own wall times as the "
                + "results record them (the member's supervisor times the process on the member). Overhead per "
                + "attempt against the local run: (wall x slots - local wall) / attempts, what each slot spent "
                + "beyond the work the local run did one attempt at a time.%n%n", problems.size(), attempts,
                TIMEOUT.toSeconds(), passes == 1 ? "One pass of each" : passes + " passes of each", few.size()));
        s.append("| run | slots | wall s | attempts | s per attempt | provers' own wall, sum s | wall / (own sum / "
                + "slots) | overhead per attempt against the local run, ms | solved | attempts per member |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        s.append(String.format(Locale.ROOT, "| local, one at a time | 1 | %.2f | %d | %.3f | %.2f | %.2f | - | %d "
                + "| - |%n", local.wall(), attempts, local.wall() / attempts, local.own(), local.wall() / local.own(),
                local.solved()));
        for (int k = 0; k < clusters.size(); k++) {
            Cluster c = clusters.get(k);
            Pass p = median(by.get(k + 1));
            int slots = c.totalSlots();
            s.append(String.format(Locale.ROOT, "| %s | %d | %.2f | %d | %.3f | %.2f | %.2f | %.1f | %d | %s |%n",
                    c.label(), slots, p.wall(), p.attempts(), p.wall() / p.attempts(), p.own(),
                    p.wall() / (p.own() / slots), (p.wall() * slots - local.wall()) / p.attempts() * 1e3,
                    p.solved(), String.join(", ", p.where().values().stream().map(String::valueOf).toList())));
        }
        s.append(String.format(Locale.ROOT, "%nThe local run spends %.1f ms per attempt beyond the provers' own time "
                + "(spawn, reap, the verdict and its row in the results database).%n", (local.wall() - local.own())
                / attempts * 1e3));
        s.append("\nWhat the design expects on real machines: each member on a machine of its own brings that "
                + "machine's cores as its slots; the coordinator places each attempt on the member with the most "
                + "free slots, and an attempt costs the cluster one round trip (the task out, the result back) plus "
                + "shipping the problem's file, on top of what it costs locally. So the corpus's wall time falls "
                + "near-linearly with the members (twice the machines, about half the time) as long as attempts "
                + "are long against that round trip, as real provers' attempts (seconds to minutes) are; with "
                + "attempts of a few milliseconds, the round trip and the coordinator's one runner thread, which "
                + "records every row, set the pace instead. This machine cannot show it: it has "
                + Runtime.getRuntime().availableProcessors() + " cores, shared by every member JVM, the coordinator "
                + "and the provers, so two member JVMs are two claims on the same 2 cores, not 2 more; 2 slots "
                + "already use both, and 4 slots run 4 provers on 2 cores, each taking about twice its own time "
                + "(its own wall sum grows accordingly). What the table shows is the cluster's cost per attempt: "
                + "a member JVM against two, at the same slots, and the local run against both.\n");
        return s.toString();
    }

    /** The pass of median wall time. */
    private static Pass median(List<Pass> ps) {
        List<Pass> s = new ArrayList<>(ps);
        s.sort(Comparator.comparingDouble(Pass::wall));
        return s.get(s.size() / 2);
    }
}
