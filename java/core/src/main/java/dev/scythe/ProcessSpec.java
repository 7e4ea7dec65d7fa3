package dev.scythe;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An immutable description of one job: the command, its environment and directory, where its stdio goes, its
 * wall-clock limit, the grace between SIGTERM and SIGKILL when it is ended, and an optional cancel token.
 *
 * <pre>{@code
 * ProcessSpec spec = ProcessSpec.of("z3", "-smt2", "goal.smt2").toBuilder()
 *         .timeout(Duration.ofSeconds(30))
 *         .build();
 * }</pre>
 */
public final class ProcessSpec {
    /** Grace between SIGTERM and SIGKILL unless set. */
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(2);

    private final List<String> command;
    private final List<byte[]> argv;
    private final Map<String, String> environment;
    private final Path directory;
    private final Redirect stdin, stdout, stderr;
    private final Duration timeout, grace;
    private final CancelToken token;
    private final boolean passToken;
    private final int claimIndex;
    private final BitSet claimExitCodes;
    private final Progress progress;
    private final Duration cpuLimit;
    private final Path dossierDir;
    private final Containment containment;
    private final long memoryLimit, processLimit;

    private ProcessSpec(Builder b) {
        this.argv = b.argv.stream().map(byte[]::clone).toList();
        this.command = argv.stream().map(OsStrings::display).toList();
        this.environment = b.environment == null ? null : Map.copyOf(b.environment);
        this.directory = b.directory;
        this.stdin = b.stdin;
        this.stdout = b.stdout;
        this.stderr = b.stderr;
        this.timeout = b.timeout;
        this.grace = b.grace;
        this.token = b.token;
        this.passToken = b.passToken;
        this.claimIndex = b.claimIndex;
        this.claimExitCodes = (BitSet) b.claimExitCodes.clone();
        boolean probes = b.tree != null || b.output || b.heartbeat != null || b.predicate != null;
        this.progress = b.stall == null && !probes ? null : new Progress(b.stall, b.tree, b.walkTree, b.output,
                b.outputRegex, b.heartbeat, b.predicate, b.pollEvery);
        this.cpuLimit = b.cpuLimit;
        this.dossierDir = b.dossierDir;
        this.containment = b.containment;
        this.memoryLimit = b.memoryLimit;
        this.processLimit = b.processLimit;
    }

    /** A spec with default settings: stdin from /dev/null, stdout and stderr captured, no time limit. */
    public static ProcessSpec of(String... command) {
        return builder(command).build();
    }

    /** A builder for this command; each argument reaches the program as its UTF-8 bytes, whatever the locale. */
    public static Builder builder(String... command) {
        return new Builder().command(List.of(command));
    }

    /**
     * A builder for a command given as raw bytes, passed to the program byte for byte: for arguments that are not
     * UTF-8 (file names in another encoding, binary data), which a Java string cannot carry.
     */
    public static Builder builderOfBytes(List<byte[]> argv) {
        return new Builder().commandBytes(argv);
    }

    public Builder toBuilder() {
        Builder b = new Builder().commandBytes(argv).stdin(stdin).stdout(stdout).stderr(stderr).grace(grace);
        b.environment = environment == null ? null : new LinkedHashMap<>(environment);
        b.directory = directory;
        b.timeout = timeout;
        b.token = token;
        b.passToken = passToken;
        b.claimIndex = claimIndex;
        b.claimExitCodes = (BitSet) claimExitCodes.clone();
        if (progress != null) {
            b.stall = progress.window();
            b.tree = progress.tree();
            b.walkTree = progress.walkTree();
            b.output = progress.output();
            b.outputRegex = progress.outputRegex();
            b.heartbeat = progress.heartbeat();
            b.predicate = progress.predicate();
            b.pollEvery = progress.pollEvery();
        }
        b.cpuLimit = cpuLimit;
        b.dossierDir = dossierDir;
        b.containment = containment;
        b.memoryLimit = memoryLimit;
        b.processLimit = processLimit;
        return b;
    }

    /** The containment level asked for. */
    public Containment containment() {
        return containment;
    }

    /** Memory limit of the whole job in bytes, 0 for none. */
    public long memoryLimit() {
        return memoryLimit;
    }

    /** Limit on processes at once in the job, 0 for none. */
    public long processLimit() {
        return processLimit;
    }

    /** Where a hang dossier is written if the job overruns, or null. */
    public Path dossierDir() {
        return dossierDir;
    }

    /** The stall window and its probes, or null; the window is null for probes without one (a Deepening template). */
    public Progress progress() {
        return progress;
    }

    /** CPU-time limit of the leader and the children it reaped, or null. */
    public Duration cpuLimit() {
        return cpuLimit;
    }

    /**
     * The command as text, for display: each argument decoded from its bytes as UTF-8 (a byte that is not UTF-8
     * shows as U+FFFD). What the program receives is {@link #commandBytes()}.
     */
    public List<String> command() {
        return command;
    }

    /** The bytes themselves, not copied: for the supervisor. */
    List<byte[]> argv() {
        return argv;
    }

    /** The command exactly as the program receives it, argument by argument (copies). */
    public List<byte[]> commandBytes() {
        return argv.stream().map(byte[]::clone).toList();
    }

    /** The whole environment of the job, or null to inherit the supervisor's. */
    public Map<String, String> environment() {
        return environment;
    }

    /** The working directory, or null for the supervisor's. */
    public Path directory() {
        return directory;
    }

    public Redirect stdin() {
        return stdin;
    }

    public Redirect stdout() {
        return stdout;
    }

    public Redirect stderr() {
        return stderr;
    }

    /** Wall-clock limit from spawn, or null for none. */
    public Duration timeout() {
        return timeout;
    }

    /** Delay between SIGTERM and SIGKILL when the job is ended; zero means SIGKILL at once. */
    public Duration grace() {
        return grace;
    }

    /** The cancel token the job is attached to, or null. */
    public CancelToken token() {
        return token;
    }

    /** Whether the job is handed its (shared) token: fd 3 and {@code SCYTHE_TOKEN_FD=3}. */
    public boolean passToken() {
        return passToken;
    }

    /** Race index this job claims its token for when it exits with one of {@link #claimExitCodes()}; -1: never. */
    int claimIndex() {
        return claimIndex;
    }

    BitSet claimExitCodes() {
        return (BitSet) claimExitCodes.clone();
    }

    @Override
    public String toString() {
        return "ProcessSpec" + command;
    }

    /** Builds a {@link ProcessSpec}; every setter checks its argument and names what was wrong. */
    public static final class Builder {
        private List<byte[]> argv = List.of();
        private Map<String, String> environment;
        private Path directory;
        private Redirect stdin = Redirect.discard(), stdout = Redirect.capture(), stderr = Redirect.capture();
        private Duration timeout, grace = DEFAULT_GRACE;
        private CancelToken token;
        private boolean passToken;
        private int claimIndex = -1;
        private BitSet claimExitCodes = new BitSet();
        private Duration stall, pollEvery, cpuLimit;
        private Path tree, heartbeat;
        private boolean walkTree, output;
        private String outputRegex;
        private java.util.function.BooleanSupplier predicate;
        private Path dossierDir;
        private Containment containment = Containment.BEST;
        private long memoryLimit, processLimit;

        private Builder() {}

        /** The containment level (default BEST: the cgroup level where the machine allows it); limits need it. */
        public Builder containment(Containment level) {
            this.containment = Objects.requireNonNull(level, "containment");
            return this;
        }

        /** Memory limit of the whole job (its cgroup) in bytes; the outcome is ResourceExceeded(MEMORY). */
        public Builder memoryLimit(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("memory limit must not be negative, got " + bytes);
            }
            this.memoryLimit = bytes;
            return this;
        }

        /** At most this many processes at once in the job; the outcome is ResourceExceeded(PROCESSES). */
        public Builder processLimit(long processes) {
            if (processes < 0) {
                throw new IllegalArgumentException("process limit must not be negative, got " + processes);
            }
            this.processLimit = processes;
            return this;
        }

        /**
         * Hang dossiers: when the job overruns (timeout, stall window, CPU limit), before anything is killed, write
         * {@code dir/scythe-dossier-PID.txt} with every live job's process tree and /proc state (state, wchan, kernel
         * stack, open fds, children), followed by every JVM thread's stack.
         */
        public Builder dossier(Path dir) {
            this.dossierDir = dir == null ? null : dir.toAbsolutePath();
            return this;
        }

        /**
         * A stall window: the job is killed, ending {@link Outcome.Stalled}, when none of its progress probes
         * (set with the progress methods below, any combination) reported progress for this long.
         */
        public Builder stall(Duration window) {
            if (window != null && (window.isNegative() || window.isZero())) {
                throw new IllegalArgumentException("stall window must be positive, got " + window);
            }
            this.stall = window;
            return this;
        }

        /** Progress: any change below this existing directory (inotify; new subdirectories are watched too). */
        public Builder progressTree(Path dir) {
            this.tree = dir == null ? null : dir.toAbsolutePath();
            this.walkTree = false;
            return this;
        }

        /** Like {@link #progressTree}, by walking mtimes ten times a window (for filesystems inotify cannot see). */
        public Builder progressTreeByWalking(Path dir) {
            progressTree(dir);
            this.walkTree = dir != null;
            return this;
        }

        /** Progress: any byte on captured stdout or stderr. */
        public Builder progressOutput() {
            this.output = true;
            this.outputRegex = null;
            return this;
        }

        /**
         * Progress: a line of captured stdout or stderr matching this POSIX extended regex (a prover's progress
         * line, e.g. {@code ^# Processed [0-9]+ clauses}).
         */
        public Builder progressOutput(String posixRegex) {
            java.util.Objects.requireNonNull(posixRegex, "regex");
            if (Scythe.isAvailable() && dev.scythe.ffi.scythe_h.scythe_regex_check(
                    java.lang.foreign.Arena.ofAuto().allocateFrom(posixRegex)) != 0) {
                throw new IllegalArgumentException("progress regex '" + posixRegex
                        + "' is not a valid POSIX extended regex");
            }
            this.output = true;
            this.outputRegex = posixRegex;
            return this;
        }

        /** Progress: the job incremented the 8-byte counter at the start of this file (created if missing). */
        public Builder heartbeat(Path file) {
            this.heartbeat = file == null ? null : file.toAbsolutePath();
            return this;
        }

        /** Progress: this test, polled every {@code every} on Scythe's probe thread, returned true. */
        public Builder progressWhen(java.util.function.BooleanSupplier test, Duration every) {
            java.util.Objects.requireNonNull(test, "test");
            if (every == null || every.isNegative() || every.isZero()) {
                throw new IllegalArgumentException("poll interval must be positive, got " + every);
            }
            this.predicate = test;
            this.pollEvery = every;
            return this;
        }

        /** CPU-time limit for the leader and the children it reaped; the outcome is ResourceExceeded(CPU). */
        public Builder cpuLimit(Duration limit) {
            if (limit != null && (limit.isNegative() || limit.isZero())) {
                throw new IllegalArgumentException("cpu limit must be positive, got " + limit);
            }
            this.cpuLimit = limit;
            return this;
        }

        /** The command; each argument is passed as its UTF-8 bytes, whatever the JVM's locale. */
        public Builder command(List<String> command) {
            Objects.requireNonNull(command, "command");
            List<byte[]> bytes = new ArrayList<>(command.size());
            for (String arg : command) {
                Objects.requireNonNull(arg, "command argument");
                bytes.add(arg.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return commandBytes(bytes);
        }

        /** The command as raw bytes, passed to the program byte for byte. */
        public Builder commandBytes(List<byte[]> argv) {
            Objects.requireNonNull(argv, "command");
            if (argv.isEmpty() || argv.get(0) == null || argv.get(0).length == 0) {
                throw new IllegalArgumentException("command must name a program, got " + argv.stream()
                        .map(a -> a == null ? "null" : OsStrings.display(a)).toList());
            }
            List<byte[]> copy = new ArrayList<>(argv.size());
            for (byte[] arg : argv) {
                Objects.requireNonNull(arg, "command argument");
                for (byte c : arg) {
                    if (c == 0) {
                        throw new IllegalArgumentException("command argument contains a NUL byte: "
                                + OsStrings.display(arg));
                    }
                }
                copy.add(arg.clone());
            }
            this.argv = copy;
            return this;
        }

        /** Replaces the whole environment (null: inherit the supervisor's). */
        public Builder environment(Map<String, String> environment) {
            if (environment != null) {
                environment.forEach((k, v) -> {
                    if (k == null || k.isEmpty() || k.indexOf('=') >= 0 || k.indexOf('\0') >= 0 || v == null
                            || v.indexOf('\0') >= 0) {
                        throw new IllegalArgumentException("bad environment entry: " + k + "=" + v);
                    }
                });
                this.environment = new LinkedHashMap<>(environment);
            } else {
                this.environment = null;
            }
            return this;
        }

        public Builder directory(Path directory) {
            this.directory = directory == null ? null : directory.toAbsolutePath();
            return this;
        }

        public Builder stdin(Redirect r) {
            Objects.requireNonNull(r, "stdin");
            if (r instanceof Redirect.Capture || (r instanceof Redirect.File f && f.append())
                    || (r instanceof Redirect.Channel c && c.sink() != null)) {
                throw new IllegalArgumentException("stdin cannot be " + r);
            }
            this.stdin = r;
            return this;
        }

        public Builder stdout(Redirect r) {
            this.stdout = output("stdout", r);
            return this;
        }

        public Builder stderr(Redirect r) {
            if (r instanceof Redirect.Channel) {
                throw new IllegalArgumentException("stderr cannot be a channel; capture it (its tail is kept)");
            }
            this.stderr = output("stderr", r);
            return this;
        }

        private static Redirect output(String name, Redirect r) {
            Objects.requireNonNull(r, name);
            if (r instanceof Redirect.Bytes) {
                throw new IllegalArgumentException(name + " cannot be fed bytes; that is for stdin");
            }
            if (r instanceof Redirect.Channel c && c.sink() == null) {
                throw new IllegalArgumentException(name + " as a channel needs a sink: Redirect.channel(sink)");
            }
            return r;
        }

        /** Wall-clock limit from spawn; null for none. */
        public Builder timeout(Duration timeout) {
            if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
                throw new IllegalArgumentException("timeout must be positive, got " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        public Builder grace(Duration grace) {
            Objects.requireNonNull(grace, "grace");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("grace must not be negative, got " + grace);
            }
            this.grace = grace;
            return this;
        }

        public Builder token(CancelToken token) {
            this.token = token;
            return this;
        }

        /**
         * Hands the job the token it runs under, which must be {@linkplain CancelToken#shared() shared}: as its fd 3,
         * named by {@code SCYTHE_TOKEN_FD=3} in its environment, so a prover built on libscythe (any runtime) can poll
         * it or cancel or claim it for its siblings ({@code scythe_token_from_env}).
         */
        public Builder passToken(boolean pass) {
            this.passToken = pass;
            return this;
        }

        /** Races: the loop claims the token for {@code index} when the job exits with one of {@code codes}. */
        Builder claimOnExit(int index, BitSet codes) {
            if (token == null) {
                throw new IllegalStateException("claimOnExit needs a token");
            }
            this.claimIndex = index;
            this.claimExitCodes = (BitSet) codes.clone();
            return this;
        }

        public ProcessSpec build() {
            if (argv.isEmpty()) {
                throw new IllegalArgumentException("command must name a program");
            }
            if (passToken && (token == null || !token.isShared())) {
                throw new IllegalArgumentException("passToken needs a shared token (CancelToken.shared()), got "
                        + (token == null ? "no token" : "a token that is not shared"));
            }
            if ((memoryLimit > 0 || processLimit > 0) && containment == Containment.SESSION) {
                throw new IllegalArgumentException("memory and process limits need containment CGROUP (or BEST); "
                        + "a session cannot enforce them");
            }
            boolean probes = tree != null || output || heartbeat != null || predicate != null;
            if (stall != null && !probes) {
                throw new IllegalArgumentException("a stall window needs a progress probe: progressTree, "
                        + "progressOutput, heartbeat or progressWhen");
            }
            // Probes without a stall window are kept, inert: a Deepening template has probes and gets its window per
            // attempt.
            if (output && !(stdout instanceof Redirect.Capture) && !(stdout instanceof Redirect.Channel)
                    && !(stderr instanceof Redirect.Capture)) {
                throw new IllegalArgumentException("progressOutput needs stdout or stderr captured, not "
                        + stdout + " and " + stderr);
            }
            if (stdout instanceof Redirect.Capture a && stderr instanceof Redirect.Capture b && !a.equals(b)) {
                throw new IllegalArgumentException("stdout and stderr must be captured with the same head and tail "
                        + "sizes (libscythe keeps one pair for both), got " + a + " and " + b);
            }
            return new ProcessSpec(this);
        }
    }
}
