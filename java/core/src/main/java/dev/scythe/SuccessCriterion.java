package dev.scythe;

import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * What counts as a success in a race. Exit codes are decided in the native loop itself (the winner's claim and
 * the losers' preemption happen in the wake-up that reaps the winner); output patterns and predicates are decided
 * in Java, on the loop thread, once the entrant's output was drained.
 *
 * <p>Exit codes and output patterns consider only a job that exited on its own (not one that timed out, crashed or
 * was cancelled); a predicate sees every outcome.
 */
public sealed interface SuccessCriterion {

    /** Tests a finished entrant. */
    boolean test(Finished finished);

    /** What the entrant left: its outcome and captured output ({@link Output#EMPTY} for a stream not captured). */
    record Finished(Outcome outcome, Output stdout, Output stderr) {
        boolean exitedOnItsOwn() {
            return outcome instanceof Outcome.Success || outcome instanceof Outcome.Failure;
        }
    }

    /** The job exited with one of these statuses (0..255). */
    record ExitCodes(Set<Integer> codes) implements SuccessCriterion {
        public ExitCodes {
            codes = Set.copyOf(codes);
            if (codes.isEmpty()) {
                throw new IllegalArgumentException("exit codes: give at least one");
            }
            for (int c : codes) {
                if (c < 0 || c > 255) {
                    throw new IllegalArgumentException("exit code out of range 0..255: " + c);
                }
            }
        }

        public boolean test(Finished f) {
            return f.exitedOnItsOwn() && codes.contains(f.outcome().exitStatus());
        }

        BitSet bits() {
            BitSet b = new BitSet(256);
            codes.forEach(b::set);
            return b;
        }

        @Override
        public String toString() {
            return "exit " + new TreeSet<>(codes);
        }
    }

    /** A line-aware regex ({@code ^unsat} matches at any line start) found in the head or tail of a stream. */
    record OutputMatches(int stream, Pattern pattern) implements SuccessCriterion {
        public OutputMatches {
            if (stream != 1 && stream != 2) {
                throw new IllegalArgumentException("stream must be 1 (stdout) or 2 (stderr), got " + stream);
            }
            Objects.requireNonNull(pattern, "pattern");
        }

        public boolean test(Finished f) {
            Output o = stream == 1 ? f.stdout() : f.stderr();
            if (!f.exitedOnItsOwn()) {
                return false;
            }
            if (o.complete()) { // one piece: a line split between head and tail is still one line
                return pattern.matcher(text(o.bytes())).find();
            }
            return pattern.matcher(text(o.head())).find() || pattern.matcher(text(o.tail())).find();
        }

        private static String text(byte[] b) {
            return new String(b, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return (stream == 1 ? "stdout" : "stderr") + " =~ /" + pattern + "/";
        }
    }

    /**
     * A line of the stream matches this POSIX extended regex (grep -E, the dialect of progress regexes too): matched
     * by libscythe on the bytes themselves, with {@code ^} and {@code $} at line ends; a complete stream is searched
     * whole, else its head and its tail.
     */
    record OutputMatchesPosix(int stream, String regex) implements SuccessCriterion {
        public OutputMatchesPosix {
            if (stream != 1 && stream != 2) {
                throw new IllegalArgumentException("stream must be 1 (stdout) or 2 (stderr), got " + stream);
            }
            if (!isValidPosixRegex(regex)) {
                throw new IllegalArgumentException("invalid POSIX extended regex '" + regex + "'");
            }
        }

        public boolean test(Finished f) {
            Output o = stream == 1 ? f.stdout() : f.stderr();
            if (!f.exitedOnItsOwn()) {
                return false;
            }
            return o.complete() ? search(regex, o.bytes()) : search(regex, o.head()) || search(regex, o.tail());
        }

        @Override
        public String toString() {
            return (stream == 1 ? "stdout" : "stderr") + " =~ /" + regex + "/ (POSIX ERE)";
        }
    }

    /** True when {@code regex} compiles as a POSIX extended regex. */
    static boolean isValidPosixRegex(String regex) {
        java.util.Objects.requireNonNull(regex, "regex");
        NativeLibrary.ensure();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            return dev.scythe.ffi.scythe_h.scythe_regex_check(arena.allocateFrom(regex)) == 0;
        }
    }

    private static boolean search(String regex, byte[] text) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment matched = arena.allocate(java.lang.foreign.ValueLayout.JAVA_INT);
            java.lang.foreign.MemorySegment bytes = arena.allocate(Math.max(1, text.length));
            java.lang.foreign.MemorySegment.copy(text, 0, bytes, java.lang.foreign.ValueLayout.JAVA_BYTE, 0,
                    text.length);
            NativeLibrary.check(dev.scythe.ffi.scythe_h.scythe_regex_search(matched, arena.allocateFrom(regex), bytes,
                    text.length), "scythe_regex_search");
            return matched.get(java.lang.foreign.ValueLayout.JAVA_INT, 0) != 0;
        }
    }

    /** Any Java test of the outcome and output; costs a trip through the loop thread's Java code. */
    record Matching(Predicate<Finished> predicate, String description) implements SuccessCriterion {
        public Matching {
            Objects.requireNonNull(predicate, "predicate");
        }

        public boolean test(Finished f) {
            return predicate.test(f);
        }

        @Override
        public String toString() {
            return description;
        }
    }

    /** Every one of these holds. */
    record AllOf(List<SuccessCriterion> all) implements SuccessCriterion {
        public AllOf {
            all = List.copyOf(all);
        }

        public boolean test(Finished f) {
            return all.stream().allMatch(c -> c.test(f));
        }

        @Override
        public String toString() {
            return String.join(" and ", all.stream().map(Object::toString).toList());
        }
    }

    /** The default: exit status 0. */
    static ExitCodes exitZero() {
        return new ExitCodes(Set.of(0));
    }

    static ExitCodes exitCodes(int... codes) {
        return new ExitCodes(java.util.Arrays.stream(codes).boxed().collect(java.util.stream.Collectors.toSet()));
    }

    static OutputMatches stdoutMatches(String regex) {
        return new OutputMatches(1, Pattern.compile(regex, Pattern.MULTILINE));
    }

    static OutputMatches stderrMatches(String regex) {
        return new OutputMatches(2, Pattern.compile(regex, Pattern.MULTILINE));
    }

    /** A line of stdout matches this POSIX extended regex ({@link OutputMatchesPosix}). */
    static OutputMatchesPosix stdoutMatchesPosix(String regex) {
        return new OutputMatchesPosix(1, regex);
    }

    static Matching matching(Predicate<Finished> predicate, String description) {
        return new Matching(predicate, description);
    }
}
