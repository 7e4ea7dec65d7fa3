package dev.scythe;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Progressive deepening: run a command at a depth with a stall window of depth x S; when the attempt stalls, kill
 * its session, halve the depth (never below the minimum) and start again, letting the job resume from whatever it
 * keeps on disk. A success ends it, and so does any other outcome (a plain failure, a crash, a timeout); the number
 * of attempts and the total wall time are bounded.
 *
 * <p>The template is a {@link ProcessSpec} with progress probes (its own stall window is replaced at every attempt)
 * whose command holds the placeholder {@code {depth}}, or which reads the depth from an environment variable.
 */
public final class Deepening {
    public static final String PLACEHOLDER = "{depth}";
    private static final byte[] PLACEHOLDER_BYTES = PLACEHOLDER.getBytes(StandardCharsets.US_ASCII);

    /** One attempt: its depth and stall window, how it ended, how long it ran, and its captured stdout. */
    public record Attempt(int number, int depth, Duration window, Outcome outcome, Duration wall, Output stdout) {}

    /** Every attempt in order, and the last one's outcome. */
    public record Result(List<Attempt> attempts, Outcome outcome, Duration wall) {
        public Result {
            attempts = List.copyOf(attempts);
        }

        public boolean succeeded() {
            return outcome instanceof Outcome.Success;
        }
    }

    private final ProcessSpec template;
    private final int startDepth, minDepth, maxAttempts;
    private final Duration perDepth, timeout;
    private final String depthVariable;

    private Deepening(Builder b) {
        template = b.template;
        startDepth = b.startDepth;
        minDepth = b.minDepth;
        maxAttempts = b.maxAttempts;
        perDepth = b.perDepth;
        timeout = b.timeout;
        depthVariable = b.depthVariable;
    }

    public static Builder builder(ProcessSpec template) {
        return new Builder(template);
    }

    /** The spec of an attempt at this depth, with at most {@code left} of wall time (null: unbounded). */
    ProcessSpec attempt(int depth, Duration left) {
        byte[] value = Integer.toString(depth).getBytes(StandardCharsets.US_ASCII);
        List<byte[]> command = template.commandBytes().stream().map(a -> replace(a, PLACEHOLDER_BYTES, value))
                .toList();
        ProcessSpec.Builder b = template.toBuilder().commandBytes(command).stall(perDepth.multipliedBy(depth));
        if (depthVariable != null) {
            Map<String, String> env = new LinkedHashMap<>(template.environment() != null ? template.environment()
                    : System.getenv());
            env.put(depthVariable, Integer.toString(depth));
            b.environment(env);
        }
        if (left != null) {
            b.timeout(template.timeout() == null || template.timeout().compareTo(left) > 0 ? left : template.timeout());
        }
        return b.build();
    }

    /** Every occurrence of {@code what} in {@code in} replaced by {@code by}, byte for byte. */
    static byte[] replace(byte[] in, byte[] what, byte[] by) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(in.length);
        int i = 0;
        while (i < in.length) {
            if (i + what.length <= in.length && java.util.Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
                out.writeBytes(by);
                i += what.length;
            } else {
                out.write(in[i++]);
            }
        }
        return out.toByteArray();
    }

    /** Runs attempts until one does not stall, or the attempts or the time run out. */
    public Result run(Supervisor supervisor) throws InterruptedException {
        long t0 = System.nanoTime();
        List<Attempt> attempts = new ArrayList<>();
        int depth = startDepth;
        Outcome last = null;
        while (attempts.size() < maxAttempts) {
            Duration left = null;
            if (timeout != null) {
                left = timeout.minusNanos(System.nanoTime() - t0);
                if (left.isNegative() || left.isZero()) {
                    last = new Outcome.TimedOut(-1, 0, Usage.NONE);
                    break;
                }
            }
            ProcessSpec spec = attempt(depth, left);
            long a0 = System.nanoTime();
            Job job = supervisor.start(spec);
            last = job.await();
            Output stdout = spec.stdout() instanceof Redirect.Capture ? job.stdout() : Output.EMPTY;
            attempts.add(new Attempt(attempts.size() + 1, depth, spec.progress().window(), last,
                    Duration.ofNanos(System.nanoTime() - a0), stdout));
            if (!(last instanceof Outcome.Stalled)) {
                break;
            }
            depth = Math.max(minDepth, depth / 2);
        }
        return new Result(attempts, last, Duration.ofNanos(System.nanoTime() - t0));
    }

    /** Builds a {@link Deepening}; each setter names what was wrong. */
    public static final class Builder {
        private final ProcessSpec template;
        private int startDepth = -1, minDepth = 1, maxAttempts = 20;
        private Duration perDepth, timeout;
        private String depthVariable;

        private Builder(ProcessSpec template) {
            this.template = Objects.requireNonNull(template, "template");
            if (template.progress() == null) {
                throw new IllegalArgumentException("the template needs progress probes (each attempt gets a stall "
                        + "window of depth x per-depth timeout; the template needs none)");
            }
        }

        public Builder startDepth(int depth) {
            if (depth < 1) {
                throw new IllegalArgumentException("start depth must be >= 1, got " + depth);
            }
            this.startDepth = depth;
            return this;
        }

        public Builder minDepth(int depth) {
            if (depth < 1) {
                throw new IllegalArgumentException("min depth must be >= 1, got " + depth);
            }
            this.minDepth = depth;
            return this;
        }

        /** S: an attempt at depth d gets a stall window of d x S. */
        public Builder perDepthTimeout(Duration s) {
            if (s == null || s.isNegative() || s.isZero()) {
                throw new IllegalArgumentException("per-depth timeout must be positive, got " + s);
            }
            this.perDepth = s;
            return this;
        }

        public Builder maxAttempts(int k) {
            if (k < 1) {
                throw new IllegalArgumentException("max attempts must be >= 1, got " + k);
            }
            this.maxAttempts = k;
            return this;
        }

        /** Bound on the total wall time of all attempts. */
        public Builder timeout(Duration total) {
            if (total != null && (total.isNegative() || total.isZero())) {
                throw new IllegalArgumentException("timeout must be positive, got " + total);
            }
            this.timeout = total;
            return this;
        }

        /** Also pass the depth in this environment variable. */
        public Builder depthVariable(String name) {
            if (name != null && (name.isEmpty() || name.contains("="))) {
                throw new IllegalArgumentException("bad environment variable name '" + name + "'");
            }
            this.depthVariable = name;
            return this;
        }

        public Deepening build() {
            if (startDepth < 0) {
                throw new IllegalArgumentException("set the start depth (startDepth)");
            }
            if (perDepth == null) {
                throw new IllegalArgumentException("set the per-depth timeout (perDepthTimeout)");
            }
            if (minDepth > startDepth) {
                throw new IllegalArgumentException("min depth " + minDepth + " is above the start depth " + startDepth);
            }
            try {
                perDepth.multipliedBy(startDepth).toNanos();
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("the first stall window, start depth " + startDepth
                        + " x per-depth timeout " + perDepth + ", is longer than 292 years");
            }
            boolean placeholder = template.command().stream().anyMatch(a -> a.contains(PLACEHOLDER));
            if (!placeholder && depthVariable == null) {
                throw new IllegalArgumentException("the command has no " + PLACEHOLDER
                        + " placeholder and no depth variable is set");
            }
            return new Deepening(this);
        }
    }
}
