package dev.scythe.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A learned portfolio schedule, in the manner of sequential portfolio schedules such as 3S or ppfolio: per problem
 * family, an order of provers and a time slice for each, learned from earlier results of each prover run alone on each
 * problem. The portfolio it is meant for runs at most {@code concurrency} entrants at once (per family; by default
 * {@code cores}); the others wait and start, in order, whenever a running one ends (it gave up, crashed or hit its
 * slice). The first correct answer ends the race. With more entrants running than there are cores, they share the
 * CPU: that pays when the provers are specialists, each fast on its own kind of problem, because half a core on the
 * right prover beats a whole core on the wrong one.
 *
 * <p>Learning is a greedy construction per family (in the spirit of Streeter &amp; Golovin): each step appends the
 * (prover, slice) pair that minimises the simulated PAR-2 on the training samples, judged with one step of lookahead
 * (the pair alone, or followed by the best other prover without a slice), the candidate slices being the prover's
 * padded solve times; a final pass drops slots that do not pay for themselves and lifts slices that cost nothing.
 * The same is done (without slices, and with a backward pass from everyone) for each concurrency above {@code cores}
 * up to the family's number of provers, simulating the shared cores; the concurrency with the best result is kept.
 * Everything here is pure computation: nothing is run.
 */
public final class Schedule {
    /**
     * Seconds each entrant's start costs in the simulation: spawning and supervising a process is not free, and the
     * cost makes a schedule with fewer entrants win when all else is equal.
     */
    public static final double START_OVERHEAD = 0.002;
    /** A solve time t becomes the candidate slice t * SLICE_FACTOR + SLICE_PAD: times vary between runs and problems. */
    static final double SLICE_FACTOR = 1.2, SLICE_PAD = 0.05;
    /** At most this many finite candidate slices per prover (quantiles of its solve times), so learning stays fast. */
    static final int MAX_SLICES = 32;
    /** PAR-2 differences below this (seconds) are float noise, not an improvement worth another slot. */
    private static final double EPS = 1e-9;
    private static final String HEADER = "# scythe schedule";
    private static final String REST = "rest";
    /** The prover field of a text line that gives a family's concurrency instead of a slot. */
    private static final String CONCURRENCY = "*";

    /**
     * One observation: a prover run alone on a problem.
     *
     * @param problem the problem's id
     * @param family the problem's family; a schedule is learned per family
     * @param prover the prover's name
     * @param solved whether it gave the correct (or confirmed) answer
     * @param seconds the wall time it ran: to its answer, its give-up, its crash or the timeout
     */
    public record Sample(String problem, String family, String prover, boolean solved, double seconds) {
        /** Rejects missing names and a time that is negative, infinite or NaN. */
        public Sample {
            Objects.requireNonNull(problem, "problem");
            Objects.requireNonNull(family, "family");
            Objects.requireNonNull(prover, "prover");
            if (!(seconds >= 0) || Double.isInfinite(seconds)) {
                throw new IllegalArgumentException("sample of " + prover + " on " + problem
                        + ": seconds must be finite and >= 0, got " + seconds);
            }
        }
    }

    /**
     * One entrant of a family's schedule.
     *
     * @param prover the prover's name
     * @param slice seconds it may run before it is stopped, or {@link Double#POSITIVE_INFINITY} for "until the
     *     portfolio's timeout"
     */
    public record Slot(String prover, double slice) {
        /** Rejects a missing prover and a slice that is not positive. */
        public Slot {
            Objects.requireNonNull(prover, "prover");
            if (!(slice > 0)) {
                throw new IllegalArgumentException("slot of " + prover + ": slice must be > 0 seconds, got " + slice);
            }
        }

        /** Whether the entrant may run until the portfolio's timeout. */
        public boolean rest() {
            return slice == Double.POSITIVE_INFINITY;
        }
    }

    private final Map<String, List<Slot>> slots;
    /** Per family the most entrants at once, only where that differs from {@link #cores}: one meaning, one form. */
    private final Map<String, Integer> concurrency;
    private final int cores;
    private final double timeout;

    private Schedule(Map<String, List<Slot>> slots, Map<String, Integer> concurrency, int cores, double timeout) {
        checkRace(cores, timeout);
        LinkedHashMap<String, List<Slot>> copy = new LinkedHashMap<>();
        slots.forEach((family, list) -> {
            Set<String> seen = new LinkedHashSet<>();
            for (Slot s : list) {
                if (!seen.add(s.prover())) {
                    throw new IllegalArgumentException("family " + family + ": prover " + s.prover()
                            + " has two slots");
                }
            }
            copy.put(family, List.copyOf(list));
        });
        LinkedHashMap<String, Integer> k = new LinkedHashMap<>();
        concurrency.forEach((family, n) -> {
            if (!copy.containsKey(family)) {
                throw new IllegalArgumentException("concurrency given for family " + family + ", which has no slots"
                        + " entry");
            }
            checkConcurrency(Objects.requireNonNull(n, () -> "family " + family + ": concurrency"),
                    "family " + family + ": ");
        });
        // in the families' order, so that equal schedules print alike
        copy.keySet().forEach(family -> {
            Integer n = concurrency.get(family);
            if (n != null && n != cores) {
                k.put(family, n);
            }
        });
        this.slots = Collections.unmodifiableMap(copy);
        this.concurrency = Collections.unmodifiableMap(k);
        this.cores = cores;
        this.timeout = timeout;
    }

    /**
     * A schedule given explicitly (hand-made, or to compare against a learned one).
     *
     * @param slots per family its slots, in start order; a prover at most once per family
     * @param cores how many entrants the portfolio runs at once
     * @param timeout the portfolio's timeout in seconds
     */
    public static Schedule of(Map<String, List<Slot>> slots, int cores, double timeout) {
        return new Schedule(slots, Map.of(), cores, timeout);
    }

    /**
     * A schedule given explicitly, with a concurrency per family.
     *
     * @param slots per family its slots, in start order; a prover at most once per family
     * @param concurrency per family (each one of {@code slots}) the most entrants it runs at once, sharing the cores
     *     when that is more than {@code cores}; a family not in it runs {@code cores} at once
     * @param cores how many cores the portfolio has
     * @param timeout the portfolio's timeout in seconds
     */
    public static Schedule of(Map<String, List<Slot>> slots, Map<String, Integer> concurrency, int cores,
            double timeout) {
        return new Schedule(slots, concurrency, cores, timeout);
    }

    /**
     * Learns a schedule per family from samples of each prover run alone on each problem. A prover without a sample
     * on some problem of its family counts as unsolved there, having run until the timeout.
     *
     * <p>Per family, each concurrency from {@code cores} up to its number of provers is tried, and the one whose
     * schedule has the lowest training PAR-2 is kept (the smallest on ties).
     *
     * @param samples the training observations; at most one per (problem, prover), each problem in one family
     * @param cores how many cores the portfolio has
     * @param timeout the portfolio's timeout in seconds
     */
    public static Schedule learn(List<Sample> samples, int cores, double timeout) {
        return learn(samples, cores, timeout, Integer.MAX_VALUE);
    }

    /** {@link #learn(List, int, double)} trying concurrencies only up to {@code maxConcurrency} (tests compare). */
    static Schedule learn(List<Sample> samples, int cores, double timeout, int maxConcurrency) {
        checkRace(cores, timeout);
        Map<String, Family> families = group(samples);
        LinkedHashMap<String, List<Slot>> out = new LinkedHashMap<>();
        Map<String, Integer> concurrency = new LinkedHashMap<>();
        for (Family f : families.values()) {
            Learner learner = new Learner(f, cores, timeout);
            List<Slot> best = learner.learn();
            double cost = learner.par2(best);
            int k = cores;
            for (int c = cores + 1; c <= Math.min(maxConcurrency, learner.m); c++) {
                List<Slot> shared = learner.learnShared(c);
                if (shared.isEmpty()) {
                    continue;
                }
                // any concurrency from the number of slots up simulates alike: record the smallest such
                int effective = Math.max(cores, Math.min(c, shared.size()));
                double v = learner.sharedPar2(shared, effective);
                if (v < cost - EPS) {
                    best = shared;
                    cost = v;
                    k = effective;
                }
            }
            out.put(f.name, best);
            concurrency.put(f.name, k);
        }
        return new Schedule(out, concurrency, cores, timeout);
    }

    /** The slots of a family in start order; empty for a family this schedule never saw. */
    public List<Slot> slots(String family) {
        return slots.getOrDefault(family, List.of());
    }

    /** The families this schedule has slots for, in the order they were learned or parsed. */
    public Set<String> families() {
        return Collections.unmodifiableSet(slots.keySet());
    }

    /** How many cores the schedule was learned for; a family without its own concurrency runs that many at once. */
    public int cores() {
        return cores;
    }

    /**
     * The most entrants a family's portfolio runs at once: more than {@link #cores()} means they share the cores.
     * {@link #cores()} for a family without a concurrency of its own, including one this schedule never saw.
     */
    public int concurrency(String family) {
        return concurrency.getOrDefault(family, cores);
    }

    /** The portfolio timeout in seconds the schedule was learned for. */
    public double timeout() {
        return timeout;
    }

    /**
     * The simulated wall time of a schedule on one problem, running {@code cores} entrants at once. Entrants start in
     * slot order, the first {@code cores} at time 0 and each next one when a running one ends; each start costs
     * {@link #START_OVERHEAD}. An entrant ends after its sample's time, or after its slice if that is shorter (a solve
     * is then lost). The first solve, if it comes within the timeout, ends the race.
     *
     * @param slots the family's slots in start order
     * @param byProver each prover's sample on the problem; a prover without one counts as unsolved after the timeout
     * @param cores how many entrants run at once, each on a core of its own
     * @param timeout the portfolio's timeout in seconds
     * @return the seconds to the first solve, or {@link Double#POSITIVE_INFINITY} when unsolved within the timeout
     */
    public static double simulate(List<Slot> slots, Map<String, Sample> byProver, int cores, double timeout) {
        return simulate(slots, byProver, cores, cores, timeout);
    }

    /**
     * The simulated wall time of a schedule on one problem, running at most {@code concurrency} entrants at once on
     * {@code cores} cores. As {@link #simulate(List, Map, int, double)}, except that while m entrants run, each
     * progresses at min(1, cores / m) CPU seconds per wall second (processor sharing): a sample's time is CPU time
     * on a core of its own, so an entrant solves (or gives up) once its progress reaches that time, after its start's
     * {@link #START_OVERHEAD} of wall time, during which it already holds its place. Slices and the timeout stay wall
     * time, as a race's per-entrant timeout is. With {@code concurrency <= cores} this is exactly the simulation of
     * {@code concurrency} entrants on cores of their own.
     *
     * @param slots the family's slots in start order
     * @param byProver each prover's sample on the problem; a prover without one counts as unsolved after the timeout
     * @param cores how many cores the entrants share
     * @param concurrency the most entrants running at once, at least 1
     * @param timeout the portfolio's timeout in seconds
     * @return the seconds to the first solve, or {@link Double#POSITIVE_INFINITY} when unsolved within the timeout
     */
    public static double simulate(List<Slot> slots, Map<String, Sample> byProver, int cores, int concurrency,
            double timeout) {
        checkRace(cores, timeout);
        checkConcurrency(concurrency, "");
        return concurrency <= cores ? sequential(slots, byProver, concurrency, timeout)
                : shared(slots, byProver, cores, concurrency, timeout);
    }

    /**
     * The event-driven processor-sharing simulation, whatever the concurrency; {@link #simulate(List, Map, int, int,
     * double)} uses it only above {@code cores}, and tests compare it below with {@link #sequential}.
     */
    static double shared(List<Slot> slots, Map<String, Sample> byProver, int cores, int concurrency,
            double timeout) {
        Sharing race = new Sharing(slots.size(), cores, concurrency, timeout);
        for (int k = 0; k < slots.size(); k++) {
            Sample s = byProver.get(slots.get(k).prover());
            race.work[k] = runTime(s, timeout);
            race.solve[k] = solveTime(s, timeout);
            race.slice[k] = slots.get(k).slice();
        }
        return race.run(slots.size());
    }

    /** The simulation of {@code cores} entrants at once, each on a core of its own: no sharing, so no events. */
    private static double sequential(List<Slot> slots, Map<String, Sample> byProver, int cores, double timeout) {
        double[] free = new double[Math.min(cores, Math.max(1, slots.size()))];
        double best = Double.POSITIVE_INFINITY;
        for (Slot slot : slots) {
            int core = earliest(free);
            double start = free[core];
            // start times never decrease, so once one entrant starts too late, all later ones do
            if (start >= best || start >= timeout) {
                break;
            }
            Sample s = byProver.get(slot.prover());
            double run = runTime(s, timeout);
            double solve = solveTime(s, timeout);
            free[core] = start + START_OVERHEAD + Math.min(run, slot.slice());
            best = Math.min(best, win(start, solve, slot.slice(), timeout));
        }
        return best;
    }

    /**
     * The simulated PAR-2 of this schedule over samples (all families in them): the mean over problems of the
     * simulated time, an unsolved problem counting twice the timeout. A problem of a family without slots is unsolved.
     * A family with a concurrency of its own runs that many entrants at once, sharing the {@code cores}; any other
     * runs {@code cores} at once.
     *
     * @param samples the observations to score on; at most one per (problem, prover), each problem in one family
     * @param cores how many cores the portfolio has
     * @param timeout the portfolio's timeout in seconds
     * @return the mean in seconds; NaN when there are no samples
     */
    public double par2(List<Sample> samples, int cores, double timeout) {
        checkRace(cores, timeout);
        double sum = 0;
        int n = 0;
        for (Family f : group(samples).values()) {
            List<Slot> list = slots(f.name);
            int k = concurrency.getOrDefault(f.name, cores);
            for (Map<String, Sample> byProver : f.problems.values()) {
                sum += cost(simulate(list, byProver, cores, k, timeout), timeout);
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Splits the problems into two halves for 2-fold cross-validation: per family, its problems sorted by id go
     * alternately to the first and the second half. Deterministic, so folds are reproducible.
     */
    public static List<Set<String>> halves(List<Sample> samples) {
        Set<String> first = new TreeSet<>(), second = new TreeSet<>();
        for (Family f : group(samples).values()) {
            int i = 0;
            for (String problem : new TreeSet<>(f.problems.keySet())) {
                (i++ % 2 == 0 ? first : second).add(problem);
            }
        }
        return List.of(Collections.unmodifiableSet(first), Collections.unmodifiableSet(second));
    }

    /**
     * The schedule as a small TSV text: a '#' header giving cores and timeout, then one line per slot,
     * {@code family<TAB>prover<TAB>slice}, the slice in seconds or {@code rest} (until the timeout). A family whose
     * concurrency differs from the cores has, before its slots, a line {@code family<TAB>*<TAB>N}: at most N
     * entrants at once.
     *
     * @throws IllegalStateException if a name cannot be written in that form (a tab or line break in it, a family
     *     that starts with '#', which would read back as a comment, or a prover named '*')
     */
    public String toText() {
        StringBuilder b = new StringBuilder();
        b.append(HEADER).append(" cores=").append(cores).append(" timeout=").append(timeout).append('\n');
        b.append("# family\tprover\tslice (seconds, or ").append(REST).append(" = until the timeout)\n");
        if (!concurrency.isEmpty()) {
            b.append("# family\t").append(CONCURRENCY).append("\tN: at most N entrants at once, sharing the cores"
                    + " (otherwise as many as cores)\n");
        }
        slots.forEach((family, list) -> {
            checkName("family", family, true);
            Integer k = concurrency.get(family);
            if (k != null) {
                b.append(family).append('\t').append(CONCURRENCY).append('\t').append(k).append('\n');
            }
            for (Slot s : list) {
                checkName("prover", s.prover(), false);
                if (s.prover().equals(CONCURRENCY)) {
                    throw new IllegalStateException("prover '" + CONCURRENCY + "' cannot be written as TSV: that"
                            + " field marks a family's concurrency");
                }
                b.append(family).append('\t').append(s.prover()).append('\t')
                        .append(s.rest() ? REST : Double.toString(s.slice())).append('\n');
            }
        });
        return b.toString();
    }

    /**
     * Reads the text form of {@link #toText()}. Blank lines and '#' comments are ignored, except the header, which
     * must come before the first slot. A text without concurrency lines (as written before there were any) runs
     * every family {@code cores} at once.
     *
     * @throws IllegalArgumentException naming the line that is wrong, or the missing header
     */
    public static Schedule parse(String text) {
        Integer cores = null;
        Double timeout = null;
        LinkedHashMap<String, List<Slot>> slots = new LinkedHashMap<>();
        Map<String, Integer> concurrency = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            int no = i + 1;
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("#")) {
                if (line.startsWith(HEADER)) {
                    if (cores != null) {
                        throw new IllegalArgumentException("line " + no + ": a second header");
                    }
                    cores = headerInt(line, "cores", no);
                    timeout = headerDouble(line, "timeout", no);
                    try {
                        checkRace(cores, timeout);
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("line " + no + ": " + e.getMessage(), e);
                    }
                }
                continue;
            }
            if (cores == null) {
                throw new IllegalArgumentException("line " + no + ": a slot before the header '" + HEADER
                        + " cores=N timeout=SECONDS'");
            }
            String[] f = line.split("\t", -1);
            if (f.length != 3) {
                throw new IllegalArgumentException("line " + no + ": expected 3 tab-separated fields (family, prover,"
                        + " slice), found " + f.length + ": " + line);
            }
            if (f[0].isEmpty() || f[1].isEmpty()) {
                throw new IllegalArgumentException("line " + no + ": empty " + (f[0].isEmpty() ? "family" : "prover"));
            }
            if (f[1].equals(CONCURRENCY)) {
                int k;
                try {
                    k = Integer.parseInt(f[2].strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("line " + no + ": concurrency (entrants at once) must be an"
                            + " integer, got '" + f[2] + "'", e);
                }
                try {
                    checkConcurrency(k, "");
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("line " + no + ": " + e.getMessage(), e);
                }
                if (concurrency.putIfAbsent(f[0], k) != null) {
                    throw new IllegalArgumentException("line " + no + ": a second concurrency for family " + f[0]);
                }
                slots.computeIfAbsent(f[0], x -> new ArrayList<>());
                continue;
            }
            double slice;
            String v = f[2].strip();
            if (v.equals(REST)) {
                slice = Double.POSITIVE_INFINITY;
            } else {
                try {
                    slice = Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("line " + no + ": slice must be seconds or '" + REST
                            + "', got '" + f[2] + "'", e);
                }
                if (!(slice > 0) || Double.isInfinite(slice)) {
                    throw new IllegalArgumentException("line " + no + ": slice must be finite and > 0 seconds (or '"
                            + REST + "'), got " + f[2]);
                }
            }
            List<Slot> list = slots.computeIfAbsent(f[0], k -> new ArrayList<>());
            for (Slot s : list) {
                if (s.prover().equals(f[1])) {
                    throw new IllegalArgumentException("line " + no + ": prover " + f[1] + " has a second slot in"
                            + " family " + f[0]);
                }
            }
            list.add(new Slot(f[1], slice));
        }
        if (cores == null) {
            throw new IllegalArgumentException("missing header line '" + HEADER + " cores=N timeout=SECONDS'");
        }
        return new Schedule(slots, concurrency, cores, timeout);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Schedule s && cores == s.cores && Double.compare(timeout, s.timeout) == 0
                && slots.equals(s.slots) && List.copyOf(slots.keySet()).equals(List.copyOf(s.slots.keySet()))
                && concurrency.equals(s.concurrency);
    }

    @Override
    public int hashCode() {
        return Objects.hash(slots, concurrency, cores, timeout);
    }

    /** The text form, for logs and test failures. */
    @Override
    public String toString() {
        return toText();
    }

    // ---- simulation primitives, shared by simulate() and the learner so both agree to the last bit ----

    /** The index of the core that frees first; the lowest index on ties, which keeps the simulation deterministic. */
    private static int earliest(double[] free) {
        int j = 0;
        for (int k = 1; k < free.length; k++) {
            if (free[k] < free[j]) {
                j = k;
            }
        }
        return j;
    }

    /** When an entrant started at {@code start} wins, or infinity: a solve after its slice or the timeout is lost. */
    private static double win(double start, double solve, double slice, double timeout) {
        if (solve > slice) {
            return Double.POSITIVE_INFINITY;
        }
        double t = start + START_OVERHEAD + solve;
        return t <= timeout ? t : Double.POSITIVE_INFINITY;
    }

    /** The CPU seconds a prover runs on a problem by its sample: to its end, or the timeout without a sample. */
    private static double runTime(Sample s, double timeout) {
        return s == null ? timeout : Math.min(s.seconds(), timeout);
    }

    /** The CPU seconds to a prover's solve by its sample, or infinity when it does not solve within the timeout. */
    private static double solveTime(Sample s, double timeout) {
        return s != null && s.solved() && s.seconds() <= timeout ? s.seconds() : Double.POSITIVE_INFINITY;
    }

    /** A problem's PAR-2 cost: its time, or twice the timeout when unsolved. */
    private static double cost(double time, double timeout) {
        return time <= timeout ? time : 2 * timeout;
    }

    private static void checkRace(int cores, double timeout) {
        if (cores < 1) {
            throw new IllegalArgumentException("cores must be >= 1, got " + cores);
        }
        if (!(timeout > 0) || Double.isInfinite(timeout)) {
            throw new IllegalArgumentException("timeout must be finite and > 0 seconds, got " + timeout);
        }
    }

    private static void checkConcurrency(int concurrency, String where) {
        if (concurrency < 1) {
            throw new IllegalArgumentException(where + "concurrency (entrants at once) must be >= 1, got "
                    + concurrency);
        }
    }

    private static void checkName(String what, String name, boolean family) {
        if (name.isEmpty() || name.indexOf('\t') >= 0 || name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0
                || (family && name.startsWith("#"))) {
            throw new IllegalStateException(what + " '" + name + "' cannot be written as TSV: it is empty or has a"
                    + " tab or line break" + (family ? ", or starts with '#'" : ""));
        }
    }

    private static int headerInt(String line, String key, int no) {
        String v = headerValue(line, key, no);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("line " + no + ": " + key + " must be an integer, got '" + v + "'", e);
        }
    }

    private static double headerDouble(String line, String key, int no) {
        String v = headerValue(line, key, no);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("line " + no + ": " + key + " must be seconds, got '" + v + "'", e);
        }
    }

    private static String headerValue(String line, String key, int no) {
        for (String token : line.substring(HEADER.length()).strip().split("\\s+")) {
            if (token.startsWith(key + "=")) {
                return token.substring(key.length() + 1);
            }
        }
        throw new IllegalArgumentException("line " + no + ": header lacks " + key + "=");
    }

    /**
     * One problem's race under processor sharing, event-driven: between two events (a start, a give-up, a slice's
     * expiry, a win) the number running is constant, so is everyone's rate, and the next event is computed exactly.
     * The arrays are reused from race to race, so the learner can run millions of them without garbage.
     *
     * <p>Each running entrant keeps an anchor (a wall time) and the CPU seconds done by then; only when the rate
     * changes is it moved to the present. While the rate stays 1 an entrant ends at exactly its start, plus the
     * overhead, plus its time, computed as {@link #sequential} computes it.
     */
    private static final class Sharing {
        private final int cores, concurrency;
        private final double timeout;
        /**
         * Per slot, set by the caller before {@link #run}: CPU seconds until it ends by itself, until it solves (or
         * infinity), and its wall-clock slice (or infinity).
         */
        final double[] work, solve, slice;
        /** Per running entrant (packed in the first places): its slot, anchor, CPU seconds done by then, its stop. */
        private final int[] slot;
        private final double[] anchor, done, stop;
        /**
         * After {@link #run}: when one more slot appended to those run would have started, or infinity when the
         * race ended first. Until then the race with it is the same, so the learner re-runs only where it is not.
         */
        double opens;

        Sharing(int slots, int cores, int concurrency, double timeout) {
            this.cores = cores;
            this.concurrency = concurrency;
            this.timeout = timeout;
            work = new double[slots];
            solve = new double[slots];
            slice = new double[slots];
            int places = Math.max(1, Math.min(slots, concurrency));
            slot = new int[places];
            anchor = new double[places];
            done = new double[places];
            stop = new double[places];
        }

        /** Races the first {@code count} slots; the seconds to the first solve, or infinity. */
        double run(int count) {
            int running = 0, next = 0;
            opens = Double.POSITIVE_INFINITY;
            while (running < concurrency && next < count) {
                start(running++, next++, 0);
            }
            if (running < concurrency) {
                opens = 0;
            }
            double rate = rate(running);
            while (running > 0) {
                int j = -1;
                double t = Double.POSITIVE_INFINITY;
                boolean wins = false;
                for (int k = 0; k < running; k++) {
                    int s = slot[k];
                    double finish = anchor[k] + (work[s] - done[k]) / rate;
                    boolean w = solve[s] != Double.POSITIVE_INFINITY && finish <= stop[k];
                    double end = Math.min(finish, stop[k]);
                    // on a tie a win goes first: the race is over before anyone else's end frees a place
                    if (j < 0 || end < t || (end == t && w && !wins)) {
                        j = k;
                        t = end;
                        wins = w;
                    }
                }
                if (t > timeout) {
                    return Double.POSITIVE_INFINITY;
                }
                if (wins) {
                    return t;
                }
                // j ends at t (gave up, crashed or hit its slice): its place goes to the next slot, if any
                running--;
                slot[j] = slot[running];
                anchor[j] = anchor[running];
                done[j] = done[running];
                stop[j] = stop[running];
                int before = running;
                if (next < count) {
                    start(running++, next++, t);
                } else if (opens == Double.POSITIVE_INFINITY) {
                    opens = t;
                }
                double r = rate(running);
                if (r != rate) {
                    for (int k = 0; k < before; k++) {
                        // one still in its start overhead has done nothing yet: its anchor stays where work begins
                        if (t > anchor[k]) {
                            done[k] = Math.min(work[slot[k]], done[k] + rate * (t - anchor[k]));
                            anchor[k] = t;
                        }
                    }
                    rate = r;
                }
            }
            return Double.POSITIVE_INFINITY;
        }

        private void start(int place, int s, double t) {
            slot[place] = s;
            anchor[place] = t + START_OVERHEAD;
            done[place] = 0;
            stop[place] = anchor[place] + slice[s];
        }

        /** CPU seconds per wall second of each of m running entrants. */
        private double rate(int m) {
            return m <= cores ? 1 : (double) cores / m;
        }
    }

    // ---- grouping ----

    /** One family's samples: problem to (prover to sample), and its provers, both in order of first appearance. */
    private static final class Family {
        final String name;
        final Map<String, Map<String, Sample>> problems = new LinkedHashMap<>();
        final List<String> provers = new ArrayList<>();

        Family(String name) {
            this.name = name;
        }
    }

    /** Groups samples by family and problem, rejecting what would make the data ambiguous. */
    private static Map<String, Family> group(List<Sample> samples) {
        Map<String, Family> families = new LinkedHashMap<>();
        Map<String, String> familyOf = new TreeMap<>();
        Map<String, Set<String>> proversOf = new LinkedHashMap<>();
        for (Sample s : samples) {
            String known = familyOf.putIfAbsent(s.problem(), s.family());
            if (known != null && !known.equals(s.family())) {
                throw new IllegalArgumentException("problem " + s.problem() + " is in two families: " + known
                        + " and " + s.family());
            }
            Family f = families.computeIfAbsent(s.family(), Family::new);
            if (f.problems.computeIfAbsent(s.problem(), k -> new LinkedHashMap<>()).putIfAbsent(s.prover(), s)
                    != null) {
                throw new IllegalArgumentException("two samples of prover " + s.prover() + " on problem "
                        + s.problem());
            }
            if (proversOf.computeIfAbsent(f.name, k -> new LinkedHashSet<>()).add(s.prover())) {
                f.provers.add(s.prover());
            }
        }
        return families;
    }

    // ---- learning ----

    /**
     * Greedy learning for one family. Per problem it keeps the state of the schedule built so far (when each core
     * frees, the best win), so that trying one more slot costs O(problems) rather than a full re-simulation.
     */
    private static final class Learner {
        private final int cores, n;
        final int m;
        private final double timeout;
        private final List<String> provers;
        /** Per prover and problem: seconds it ran (capped at the timeout), and its solve time or infinity. */
        private final double[][] run, solve;
        /** Per prover: its candidate slices, finite ones ascending, then infinity. */
        private final double[][] slices;

        Learner(Family f, int cores, double timeout) {
            this.cores = cores;
            this.timeout = timeout;
            this.provers = f.provers;
            this.m = provers.size();
            this.n = f.problems.size();
            run = new double[m][n];
            solve = new double[m][n];
            int i = 0;
            for (Map<String, Sample> byProver : f.problems.values()) {
                for (int p = 0; p < m; p++) {
                    Sample s = byProver.get(provers.get(p));
                    run[p][i] = runTime(s, timeout);
                    solve[p][i] = solveTime(s, timeout);
                }
                i++;
            }
            slices = new double[m][];
            for (int p = 0; p < m; p++) {
                slices[p] = candidateSlices(solve[p]);
            }
        }

        /** Padded solve times (at most MAX_SLICES of them, spread over quantiles) below the timeout, then infinity. */
        private double[] candidateSlices(double[] solves) {
            double[] t = Arrays.stream(solves).filter(Double::isFinite)
                    // rounded up to milliseconds: a slice in the text form should read like one a person would write
                    .map(x -> Math.ceil((x * SLICE_FACTOR + SLICE_PAD) * 1000) / 1000)
                    .filter(x -> x < timeout).sorted().distinct().toArray();
            double[] pick = t;
            if (t.length > MAX_SLICES) {
                pick = new double[MAX_SLICES];
                for (int k = 0; k < MAX_SLICES; k++) {
                    pick[k] = t[(int) ((long) (k + 1) * t.length / MAX_SLICES) - 1];
                }
            }
            double[] out = Arrays.copyOf(pick, pick.length + 1);
            out[pick.length] = Double.POSITIVE_INFINITY;
            return out;
        }

        List<Slot> learn() {
            double[][] free = new double[n][cores];
            double[] best = new double[n];
            Arrays.fill(best, Double.POSITIVE_INFINITY);
            boolean[] used = new boolean[m];
            List<int[]> chosen = new ArrayList<>(); // (prover, index into its slices)
            double current = 2 * timeout;
            double[] acc = new double[m];
            while (chosen.size() < m) {
                // the candidate's score is the best of appending it alone or followed by one more prover without a
                // slice: a short slice only pays off through whoever runs after it, which a one-step greedy on
                // PAR-2 alone would never see (with one core, A then B beats A alone only once B is there)
                double bestScore = Double.POSITIVE_INFINITY;
                int bestP = -1, bestC = -1, bestExtra = 0;
                for (int p = 0; p < m; p++) {
                    if (used[p]) {
                        continue;
                    }
                    for (int c = slices[p].length - 1; c >= 0; c--) {
                        double slice = slices[p][c];
                        double alone = 0;
                        Arrays.fill(acc, 0);
                        for (int i = 0; i < n; i++) {
                            double[] fr = free[i];
                            int core = earliest(fr);
                            double start = fr[core];
                            double w = best[i];
                            double next = start;
                            if (start < w && start < timeout) {
                                w = Math.min(w, win(start, solve[p][i], slice, timeout));
                                double end = start + START_OVERHEAD + Math.min(run[p][i], slice);
                                next = end;
                                for (int k = 0; k < fr.length; k++) {
                                    if (k != core && fr[k] < next) {
                                        next = fr[k];
                                    }
                                }
                            }
                            alone += cost(w, timeout);
                            if (next < w && next < timeout) {
                                for (int q = 0; q < m; q++) {
                                    if (!used[q] && q != p) {
                                        acc[q] += cost(Math.min(w, win(next, solve[q][i], Double.POSITIVE_INFINITY,
                                                timeout)), timeout);
                                    }
                                }
                            } else {
                                double cw = cost(w, timeout);
                                for (int q = 0; q < m; q++) {
                                    acc[q] += cw;
                                }
                            }
                        }
                        // candidates come in order of prover appearance and, per prover, from the longest slice:
                        // a strictly better score is needed to displace an earlier one, so ties keep fewer slots,
                        // the earlier prover and the longer slice (which is the safer bet on unseen problems)
                        int extra = 0;
                        double score = alone / n;
                        for (int q = 0; q < m; q++) {
                            if (!used[q] && q != p && acc[q] / n < score - EPS) {
                                score = acc[q] / n;
                                extra = 1;
                            }
                        }
                        if (score < bestScore - EPS || (Math.abs(score - bestScore) <= EPS && extra < bestExtra)) {
                            bestScore = score;
                            bestP = p;
                            bestC = c;
                            bestExtra = extra;
                        }
                    }
                }
                if (bestP < 0 || !(bestScore < current - EPS)) {
                    break;
                }
                double slice = slices[bestP][bestC];
                for (int i = 0; i < n; i++) {
                    double[] fr = free[i];
                    int core = earliest(fr);
                    double start = fr[core];
                    if (start < best[i] && start < timeout) {
                        best[i] = Math.min(best[i], win(start, solve[bestP][i], slice, timeout));
                        fr[core] = start + START_OVERHEAD + Math.min(run[bestP][i], slice);
                    }
                }
                used[bestP] = true;
                chosen.add(new int[] {bestP, bestC});
                current = 0;
                for (int i = 0; i < n; i++) {
                    current += cost(best[i], timeout);
                }
                current /= n;
            }
            List<Slot> out = new ArrayList<>();
            for (int[] pc : chosen) {
                out.add(new Slot(provers.get(pc[0]), slices[pc[0]][pc[1]]));
            }
            if (out.isEmpty()) {
                // nothing solved any training problem: no evidence to choose on, so run everyone rather than nothing
                for (String p : provers) {
                    out.add(new Slot(p, Double.POSITIVE_INFINITY));
                }
                return out;
            }
            return cleanup(out);
        }

        /**
         * Drops slots that do not pay for themselves and lifts slices that cost nothing on the training problems,
         * until neither changes anything. A longer slice is kept when it ties because unseen problems may need a
         * little more time than the training ones did.
         */
        private List<Slot> cleanup(List<Slot> list) {
            double current = par2(list);
            boolean changed = true;
            while (changed) {
                changed = false;
                for (int k = list.size() - 1; k >= 0 && list.size() > 1; k--) {
                    List<Slot> without = new ArrayList<>(list);
                    without.remove(k);
                    double v = par2(without);
                    if (v <= current + EPS) {
                        list = without;
                        current = Math.min(current, v);
                        changed = true;
                    }
                }
                for (int k = list.size() - 1; k >= 0; k--) {
                    if (list.get(k).rest()) {
                        continue;
                    }
                    List<Slot> longer = new ArrayList<>(list);
                    longer.set(k, new Slot(list.get(k).prover(), Double.POSITIVE_INFINITY));
                    double v = par2(longer);
                    if (v <= current + EPS) {
                        list = longer;
                        current = Math.min(current, v);
                        changed = true;
                    }
                }
            }
            return list;
        }

        /** The training PAR-2 of a whole list of slots, by full simulation. */
        private double par2(List<Slot> list) {
            int[] idx = new int[list.size()];
            for (int k = 0; k < idx.length; k++) {
                idx[k] = provers.indexOf(list.get(k).prover());
            }
            double sum = 0;
            double[] free = new double[cores];
            for (int i = 0; i < n; i++) {
                Arrays.fill(free, 0);
                double best = Double.POSITIVE_INFINITY;
                for (int k = 0; k < idx.length; k++) {
                    int core = earliest(free);
                    double start = free[core];
                    if (start >= best || start >= timeout) {
                        break;
                    }
                    int p = idx[k];
                    double slice = list.get(k).slice();
                    best = Math.min(best, win(start, solve[p][i], slice, timeout));
                    free[core] = start + START_OVERHEAD + Math.min(run[p][i], slice);
                }
                sum += cost(best, timeout);
            }
            return sum / n;
        }

        /**
         * The greedy under processor sharing with at most {@code k} (more than the cores) entrants at once. The
         * candidates are the provers without slices: a race here is a full re-simulation, not the O(1) update of
         * {@link #learn()}, so trying every slice would be too slow; and with the entrants sharing the cores at
         * once, a slice matters less, as nobody waits for it to end. One step of lookahead (a pair of provers) is
         * tried only when no single prover improves: a third entrant may slow the others more than it adds alone,
         * yet pay together with a fourth. Still, ten specialists may each be worth running only if the others run
         * too, so a backward pass starts from everyone (the greedy's picks first, then the others by their PAR-2
         * alone) and drops whoever does not pay; the better of the two is kept. Empty when nothing improves on no
         * schedule at all.
         */
        List<Slot> learnShared(int k) {
            Sharing race = new Sharing(m, cores, k, timeout);
            Arrays.fill(race.slice, Double.POSITIVE_INFINITY);
            int[] order = new int[m];
            int count = 0;
            // per problem: the current schedule's win, and when a slot appended to it would start
            double[] best = new double[n], opens = new double[n];
            Arrays.fill(best, Double.POSITIVE_INFINITY);
            boolean[] used = new boolean[m];
            double current = 2 * timeout;
            double[] acc = new double[m];
            while (count < m) {
                double bestScore = Double.POSITIVE_INFINITY;
                int bestP = -1, bestQ = -1;
                for (int p = 0; p < m; p++) {
                    if (used[p]) {
                        continue;
                    }
                    order[count] = p;
                    double sum = 0;
                    for (int i = 0; i < n; i++) {
                        sum += cost(changes(i, best, opens) ? race(race, order, count + 1, i) : best[i], timeout);
                    }
                    if (sum / n < bestScore - EPS) {
                        bestScore = sum / n;
                        bestP = p;
                    }
                }
                if (!(bestScore < current - EPS) && count + 2 <= m) {
                    bestP = -1;
                    for (int p = 0; p < m; p++) {
                        if (used[p]) {
                            continue;
                        }
                        order[count] = p;
                        Arrays.fill(acc, 0);
                        for (int i = 0; i < n; i++) {
                            double w = best[i];
                            boolean more = false;
                            if (changes(i, best, opens)) {
                                w = race(race, order, count + 1, i);
                                more = race.opens < w && race.opens < timeout;
                            }
                            for (int q = 0; q < m; q++) {
                                if (!used[q] && q != p) {
                                    if (more) {
                                        order[count + 1] = q;
                                        acc[q] += cost(race(race, order, count + 2, i), timeout);
                                    } else {
                                        acc[q] += cost(w, timeout);
                                    }
                                }
                            }
                        }
                        for (int q = 0; q < m; q++) {
                            if (!used[q] && q != p && acc[q] / n < bestScore - EPS) {
                                bestScore = acc[q] / n;
                                bestP = p;
                                bestQ = q;
                            }
                        }
                    }
                }
                if (bestP < 0 || !(bestScore < current - EPS)) {
                    break;
                }
                order[count++] = bestP;
                used[bestP] = true;
                if (bestQ >= 0) {
                    order[count++] = bestQ;
                    used[bestQ] = true;
                }
                current = 0;
                for (int i = 0; i < n; i++) {
                    // where the first new slot never starts, neither does the second: nothing changes
                    if (best[i] > opens[i] && opens[i] < timeout) {
                        best[i] = race(race, order, count, i);
                        opens[i] = race.opens;
                    }
                    current += cost(best[i], timeout);
                }
                current /= n;
            }
            if (count == 0) {
                return List.of();
            }
            List<Slot> picked = new ArrayList<>();
            for (int c = 0; c < count; c++) {
                picked.add(new Slot(provers.get(order[c]), Double.POSITIVE_INFINITY));
            }
            List<Slot> forward = cleanupShared(picked, k); // makes new lists, picked stays as it is
            if (count == m) {
                return forward;
            }
            List<Slot> everyone = new ArrayList<>(picked);
            Map<Slot, Double> others = new LinkedHashMap<>();
            for (int p = 0; p < m; p++) {
                if (!used[p]) {
                    Slot alone = new Slot(provers.get(p), Double.POSITIVE_INFINITY);
                    others.put(alone, sharedPar2(List.of(alone), k));
                }
            }
            // a stable sort: ties keep the order of appearance
            others.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> everyone.add(e.getKey()));
            List<Slot> backward = cleanupShared(everyone, k);
            return sharedPar2(backward, k) < sharedPar2(forward, k) - EPS ? backward : forward;
        }

        /** Whether a slot appended to the current schedule would start on problem i before it is decided. */
        private boolean changes(int i, double[] best, double[] opens) {
            return opens[i] < best[i] && opens[i] < timeout;
        }

        /** The win on problem i of the first {@code count} provers of {@code order}, with the race's slices. */
        private double race(Sharing race, int[] order, int count, int i) {
            for (int c = 0; c < count; c++) {
                race.work[c] = run[order[c]][i];
                race.solve[c] = solve[order[c]][i];
            }
            return race.run(count);
        }

        /** Drops slots that do not pay for themselves, until none is left to drop (all slices are rest here). */
        private List<Slot> cleanupShared(List<Slot> list, int k) {
            double current = sharedPar2(list, k);
            boolean changed = true;
            while (changed) {
                changed = false;
                for (int c = list.size() - 1; c >= 0 && list.size() > 1; c--) {
                    List<Slot> without = new ArrayList<>(list);
                    without.remove(c);
                    double v = sharedPar2(without, k);
                    if (v <= current + EPS) {
                        list = without;
                        current = Math.min(current, v);
                        changed = true;
                    }
                }
            }
            return list;
        }

        /**
         * The training PAR-2 of a list of slots with at most k entrants at once sharing the cores, computed as
         * {@link Schedule#simulate(List, Map, int, int, double)} computes it, so that the choice of k is exact.
         */
        double sharedPar2(List<Slot> list, int k) {
            if (k == cores) {
                return par2(list);
            }
            Sharing race = new Sharing(list.size(), cores, k, timeout);
            int[] order = new int[list.size()];
            for (int c = 0; c < order.length; c++) {
                order[c] = provers.indexOf(list.get(c).prover());
                race.slice[c] = list.get(c).slice();
            }
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += cost(race(race, order, order.length, i), timeout);
            }
            return sum / n;
        }
    }
}
