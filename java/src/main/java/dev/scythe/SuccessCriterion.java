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
            return f.exitedOnItsOwn() && (pattern.matcher(text(o.head())).find()
                    || pattern.matcher(text(o.tail())).find());
        }

        private static String text(byte[] b) {
            return new String(b, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return (stream == 1 ? "stdout" : "stderr") + " =~ /" + pattern + "/";
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

    static Matching matching(Predicate<Finished> predicate, String description) {
        return new Matching(predicate, description);
    }
}
