package dev.scythe.jmh;

import dev.scythe.CancelToken;
import dev.scythe.Containment;
import dev.scythe.Job;
import dev.scythe.Outcome;
import dev.scythe.ProcessSpec;
import dev.scythe.Redirect;
import dev.scythe.Supervisor;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Shared tokens and the Python binding, each against its floor in the same run, interleaved round by round:
 * <ol>
 *   <li>a cancel of a shared token to the death of the 8 jobs attached to it (their outcomes seen by this JVM), made in
 *   another process (a Python program, the binding in bindings/python, which takes CLOCK_MONOTONIC just before its
 *   cancel: System.nanoTime reads the same clock) against the same cancel made here;</li>
 *   <li>spawn and reap of /bin/true one at a time through the Python binding against the same through this Java
 *   library, both at the session level.</li>
 * </ol>
 * Usage: {@code SharedTokenFigures [rounds]}; {@code scripts/bench --tokens} splices its section into
 * docs/benchmarks.md.
 */
public final class SharedTokenFigures {
    private static final int JOBS = 8;

    private SharedTokenFigures() {}

    public static void main(String[] args) throws Exception {
        System.out.print(section(args.length > 0 ? Integer.parseInt(args[0]) : 30, 3));
    }

    static String section(int rounds, int rateRounds) throws Exception {
        Path root = Path.of("").toAbsolutePath();
        Path binding = root.resolve("bindings/python"), helper = root.resolve("jmh/src/main/python/shared_token_helper.py");
        if (!Files.isRegularFile(helper)) {
            throw new IllegalStateException("run from the repository's root: no " + helper);
        }
        ProcessBuilder pb = new ProcessBuilder("python3", helper.toString()).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("PYTHONPATH", binding.toString());
        Process py = pb.start();
        long[] local = new long[rounds], remote = new long[rounds];
        double[] javaRate = new double[rateRounds], pyRate = new double[rateRounds];
        try (Supervisor supervisor = new Supervisor();
             Writer to = new OutputStreamWriter(py.getOutputStream(), StandardCharsets.UTF_8);
             BufferedReader from = new BufferedReader(new InputStreamReader(py.getInputStream(), StandardCharsets.UTF_8))) {
            for (int warm = 0; warm < 3; warm++) {
                cancelHere(supervisor);
                cancelThere(supervisor, to, from);
            }
            for (int r = 0; r < rounds; r++) {
                if (r % 2 == 0) {
                    local[r] = cancelHere(supervisor);
                    remote[r] = cancelThere(supervisor, to, from);
                } else {
                    remote[r] = cancelThere(supervisor, to, from);
                    local[r] = cancelHere(supervisor);
                }
            }
            int n = 300;
            javaRate(supervisor, 50);
            command(to, from, "rate 50");
            for (int r = 0; r < rateRounds; r++) {
                javaRate[r] = javaRate(supervisor, n);
                pyRate[r] = Double.parseDouble(command(to, from, "rate " + n));
            }
        } finally {
            py.destroy();
            py.waitFor();
        }
        double[] l = PoolFigures.percentiles(local), x = PoolFigures.percentiles(remote);
        double jr = PoolFigures.median(javaRate), pr = PoolFigures.median(pyRate);
        return String.format(Locale.ROOT, "%n## Shared tokens and the Python binding%n%n`SharedTokenFigures` "
                + "(`scripts/bench --tokens`), %d interleaved rounds after 3 warm-up ones. A cancel of a shared token "
                + "(decision 0031) to the moment this JVM has seen all %d jobs attached to it end (`sleep 60`, the "
                + "default containment): made in another process (a Python program using bindings/python, which reads "
                + "CLOCK_MONOTONIC just before its cancel; `System.nanoTime` reads the same clock) against the same "
                + "cancel made in this JVM. Then /bin/true spawned and reaped one at a time, %d per round (%d rounds, "
                + "medians), through the Python binding against this Java library, both at the session level.%n%n"
                + "| figure | other process | this JVM (floor) | ratio | target |%n|---|---:|---:|---:|---|%n"
                + "| cancel to the death of %d jobs, p50 µs | %.0f | %.0f | %.2fx | p50 <= 1 ms, <= 1.5x |%n"
                + "| the same, p90 µs | %.0f | %.0f | %.2fx | |%n"
                + "| the same, p99 µs | %.0f | %.0f | %.2fx | |%n%n"
                + "| figure | Python binding | Java library (floor) | ratio | target |%n|---|---:|---:|---:|---|%n"
                + "| spawn and reap of /bin/true, jobs/s | %.0f | %.0f | %.2fx | >= 0.8x |%n",
                rounds, JOBS, 300, rateRounds, JOBS, x[0], l[0], x[0] / l[0], x[1], l[1], x[1] / l[1], x[2], l[2],
                x[2] / l[2], pr, jr, pr / jr);
    }

    private static List<Job> attach(Supervisor supervisor, CancelToken token) throws Exception {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            jobs.add(supervisor.start(ProcessSpec.builder("sleep", "60").token(token).build()));
        }
        Thread.sleep(30); // their exec is done
        return jobs;
    }

    private static long awaitAll(List<Job> jobs) throws InterruptedException {
        for (Job j : jobs) {
            Outcome o = j.await();
            if (!(o instanceof Outcome.Cancelled)) {
                throw new IllegalStateException("expected a cancel, got " + o);
            }
        }
        return System.nanoTime();
    }

    private static long cancelHere(Supervisor supervisor) throws Exception {
        CancelToken token = CancelToken.shared();
        List<Job> jobs = attach(supervisor, token);
        long t0 = System.nanoTime();
        token.cancel(CancelToken.Reason.host(300));
        return awaitAll(jobs) - t0;
    }

    private static long cancelThere(Supervisor supervisor, Writer to, BufferedReader from) throws Exception {
        CancelToken token = CancelToken.shared();
        List<Job> jobs = attach(supervisor, token);
        command(to, from, "open /proc/" + ProcessHandle.current().pid() + "/fd/" + token.fd().getAsInt());
        Thread.sleep(5);
        long t0 = Long.parseLong(command(to, from, "go"));
        return awaitAll(jobs) - t0;
    }

    private static double javaRate(Supervisor supervisor, int n) throws Exception {
        ProcessSpec spec = ProcessSpec.builder("/bin/true").containment(Containment.SESSION)
                .stdout(Redirect.inherit()).stderr(Redirect.inherit()).build();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            if (!(supervisor.start(spec).await() instanceof Outcome.Success)) {
                throw new IllegalStateException("/bin/true failed");
            }
        }
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    private static String command(Writer to, BufferedReader from, String line) throws Exception {
        to.write(line + "\n");
        to.flush();
        String answer = from.readLine();
        if (answer == null) {
            throw new IllegalStateException("the Python helper ended (its stderr is above)");
        }
        return answer.strip();
    }
}
