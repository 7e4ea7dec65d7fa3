package dev.scythe.cluster;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A job as it travels to a member: its command, the files it needs (shipped with it, so members share no
 * filesystem), its limits and what counts as its success in a race. On the member, {@code {dir}} in any argument
 * becomes a fresh directory that holds {@code files}; it is removed when the job ends.
 *
 * @param argv          the command; {@code {dir}} stands for the job's directory on the member
 * @param files         file name (no slash) to content, written into {@code {dir}} before the job starts
 * @param timeoutMillis the job's wall-clock limit, or 0 for none
 * @param graceMillis   from SIGTERM to SIGKILL when the job is ended
 * @param keep          a file of {@code {dir}} whose content comes back with the result (a prover's model), or null
 * @param success       what makes the job a race's winner
 */
public record RemoteJob(List<String> argv, Map<String, byte[]> files, long timeoutMillis, long graceMillis,
                        String keep, Success success) implements Serializable {

    /** The placeholder for the job's directory on the member. */
    public static final String DIR = "{dir}";

    public RemoteJob {
        argv = List.copyOf(argv);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("a remote job needs a command");
        }
        files = new TreeMap<>(files);
        for (String name : files.keySet()) {
            if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
                throw new IllegalArgumentException("a shipped file needs a plain name, got '" + name + "'");
            }
        }
        if (timeoutMillis < 0 || graceMillis < 0) {
            throw new IllegalArgumentException("timeout and grace must be >= 0, got " + timeoutMillis + " and "
                    + graceMillis + " ms");
        }
        Objects.requireNonNull(success, "success");
    }

    /** A command with no files, exit status 0 as success. */
    public static RemoteJob of(List<String> argv, long timeoutMillis) {
        return new RemoteJob(argv, Map.of(), timeoutMillis, 200, null, Success.EXIT_ZERO);
    }

    /** The largest file {@link #shipping} sends with a job. */
    public static final long SHIP_LIMIT = 64L << 20;

    /**
     * A command whose arguments that name regular files here (after the program itself) are shipped with the job and
     * named by their copy on the member, so a command line written for this machine runs on any member: {@code z3
     * goal.smt2} runs there as {@code z3 {dir}/goal.smt2}. Files above {@link #SHIP_LIMIT} are refused.
     */
    public static RemoteJob shipping(List<String> argv, long timeoutMillis, Success success)
            throws java.io.IOException {
        List<String> out = new ArrayList<>();
        Map<String, byte[]> files = new TreeMap<>();
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            java.nio.file.Path f = java.nio.file.Path.of(a);
            if (i == 0 || a.isEmpty() || !java.nio.file.Files.isRegularFile(f)) {
                out.add(a);
                continue;
            }
            if (java.nio.file.Files.size(f) > SHIP_LIMIT) {
                throw new IllegalArgumentException(a + " is larger than " + (SHIP_LIMIT >> 20) + " MiB: too large to "
                        + "ship with a job");
            }
            String name = files.size() + "-" + f.getFileName();
            files.put(name, java.nio.file.Files.readAllBytes(f));
            out.add(DIR + "/" + name);
        }
        return new RemoteJob(out, files, timeoutMillis, 200, null, success);
    }

    /** The command with {@code {dir}} replaced. */
    List<String> argvIn(String dir) {
        List<String> out = new ArrayList<>(argv.size());
        argv.forEach(a -> out.add(a.replace(DIR, dir)));
        return out;
    }

    /**
     * Success in a race: an exit status among {@code exitCodes} (any, when empty), and, when {@code stdoutPattern}
     * is set, stdout containing a match of it. Plain data, so it can travel; the member tests it.
     */
    public record Success(List<Integer> exitCodes, String stdoutPattern) implements Serializable {
        public static final Success EXIT_ZERO = new Success(List.of(0), null);

        public Success {
            exitCodes = List.copyOf(exitCodes);
            if (stdoutPattern != null) {
                Pattern.compile(stdoutPattern, Pattern.MULTILINE); // a bad pattern fails here, at the caller
            }
        }

        /** Stdout matches {@code regex} (multiline), whatever the exit status. */
        public static Success stdoutMatches(String regex) {
            return new Success(List.of(), regex);
        }

        boolean test(dev.scythe.Outcome outcome, String stdout) {
            boolean exited = outcome.exitCode() >= 0 && !(outcome instanceof dev.scythe.Outcome.TimedOut)
                    && !(outcome instanceof dev.scythe.Outcome.Cancelled)
                    && !(outcome instanceof dev.scythe.Outcome.Preempted)
                    && !(outcome instanceof dev.scythe.Outcome.Stalled)
                    && !(outcome instanceof dev.scythe.Outcome.ResourceExceeded);
            if (!exited || (!exitCodes.isEmpty() && !exitCodes.contains(outcome.exitCode()))) {
                return false;
            }
            return stdoutPattern == null || Pattern.compile(stdoutPattern, Pattern.MULTILINE).matcher(stdout).find();
        }
    }
}
