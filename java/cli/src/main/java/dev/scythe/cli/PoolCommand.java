package dev.scythe.cli;

import dev.scythe.OsStrings;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import dev.scythe.pool.Bazel;
import dev.scythe.pool.JsonRpc;
import dev.scythe.pool.Pool;
import dev.scythe.pool.Protocol;
import dev.scythe.pool.Result;
import dev.scythe.pool.SmtLib;
import dev.scythe.pool.TaskKind;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** {@code scythe pool}: tasks served by a pool of long-lived workers. */
@Command(name = "pool",
        customSynopsis = {"scythe pool [OPTIONS] [--] CMD [ARGS...] ::: TASK [TASK...]",
            "   or: scythe pool [OPTIONS] [--] CMD [ARGS...] < TASKS"},
        description = {"Serves tasks with a pool of long-lived workers of CMD.", "",
            "Starts N workers of CMD, each a job of its own (its own session, the guard covers it), and sends each "
                    + "TASK to one of them; with no ':::', tasks are read from standard input, one per line. A worker "
                    + "that dies fails the tasks it had at once and is replaced (with backoff if it keeps dying); "
                    + "one that breaks the protocol is replaced too.",
            "",
            "Protocols: jsonrpc sends each TASK as method \"task\" with params {\"task\": TASK}, framed as in LSP "
                    + "(Content-Length); smtlib takes a TASK as the path of an SMT-LIB 2 file and talks to an "
                    + "interactive solver (z3 -in, cvc5 --incremental ...), (reset) between tasks; bazel splits a "
                    + "TASK on spaces into a WorkRequest's arguments and starts CMD with --persistent_worker. "
                    + "docs/pools.md has the bytes.",
            "",
            "Prints one line per task as it completes: task, outcome, result (JSON for jsonrpc; the answers for "
                    + "smtlib; exit code and output for bazel), wall time, worker. Outcomes: response, error (a "
                    + "JSON-RPC error response), worker_died, timed_out, stalled, protocol_error, encode_error, "
                    + "quarantined, unavailable, unreadable."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:every task got a response",
            "1:some task did not",
            "125:a bad option (the message names it), or scythe failed",
            "130, 143, 129:scythe got SIGINT, SIGTERM or SIGHUP: every worker's tree was killed first"},
        footer = Subcommand.DURATIONS)
final class PoolCommand extends Subcommand {
    @Option(names = "--workers", paramLabel = "N", converter = Numbers.Jobs.class, description = {
        "workers at once (default: the number of processors)"})
    private Long workers;

    @Option(names = "--protocol", paramLabel = "P", converter = ProtocolName.class,
            completionCandidates = ProtocolName.class, description = {"jsonrpc (default), smtlib or bazel"})
    private String protocol = "jsonrpc";

    @Option(names = "--max-tasks", paramLabel = "K", converter = Numbers.Jobs.class, description = {
        "replace a worker after K tasks (default: never)"})
    private Long maxTasks;

    @Option(names = "--memory-limit", paramLabel = "SIZE", converter = Numbers.Size.class, description = {
        "replace a worker whose memory (its cgroup's peak where the machine counts it, else its resident set) passed "
                + "SIZE after a task, e.g. 512M (default: never)"})
    private Long memoryLimit;

    @Option(names = "--timeout", paramLabel = "D", converter = Durations.Limit.class, description = {
        "each task's deadline from its sending (0 or inf: none); the worker gets a cancel and is killed and "
                + "replaced if it does not answer within --cancel-grace"})
    private Duration timeout;

    @Option(names = "--stall", paramLabel = "D", converter = Durations.Limit.class, description = {
        "end a task when its worker reports no progress on it for D (jsonrpc: $/progress notifications)"})
    private Duration stall;

    @Option(names = "--cancel-grace", paramLabel = "D", converter = Durations.Finite.class, description = {
        "how long a worker may take to answer a cancelled task before it is killed (default 0.5s)"})
    private Duration cancelGrace = Duration.ofMillis(500);

    @Option(names = "--json", arity = "0", preprocessor = Flag.class, description = {
        "print one JSON object per task instead (docs/cli.md)"})
    private boolean json;

    @Parameters(paramLabel = "CMD", description = "the worker's command and its arguments, then ::: and the tasks")
    private List<String> words = List.of();

    PoolCommand(PrintStream out, PrintStream err) {
        super(out, err);
    }

    /** The type of {@code --protocol}: the name as given, checked; and its completions. */
    static final class ProtocolName implements ITypeConverter<String>, Iterable<String> {
        @Override
        public String convert(String v) {
            if (!List.of("jsonrpc", "smtlib", "bazel").contains(v)) {
                throw new TypeConversionException("must be jsonrpc, smtlib or bazel, got '" + v + "'");
            }
            return v;
        }

        @Override
        public java.util.Iterator<String> iterator() {
            return List.of("jsonrpc", "smtlib", "bazel").iterator();
        }
    }

    /** A task as given, with its request made before it is submitted (a file read, a split). */
    record Task(String given, Object request, String unreadable) {
        @Override
        public String toString() {
            return given;
        }
    }

    @Override
    public Integer call() {
        int sep = words.indexOf(":::");
        List<String> command = sep < 0 ? words : words.subList(0, sep);
        if (command.isEmpty()) {
            throw new UsageException("pool needs a worker command, for example: scythe pool -- z3 -in ::: a.smt2");
        }
        List<String> tasks = sep < 0 ? null : words.subList(sep + 1, words.size());
        return switch (protocol) {
            case "smtlib" -> serve(SmtLib.protocol(), command, tasks, given -> {
                try {
                    return Files.readString(Path.of(given), StandardCharsets.UTF_8);
                } catch (java.nio.file.NoSuchFileException e) {
                    throw new Unreadable("cannot read " + given + ": no such file");
                } catch (IOException | RuntimeException e) {
                    throw new Unreadable("cannot read " + given + ": " + (e.getMessage() == null ? e : e.getMessage()));
                }
            }, a -> String.join(" ", a.answers()) + (a.errors().isEmpty() ? "" : " errors: " + a.errors()),
                    a -> java.util.Map.of("answers", a.answers(), "errors", a.errors()), a -> false);
            case "bazel" -> serve(Bazel.protocol(), withPersistentFlag(command), tasks,
                    given -> new Bazel.WorkRequest(Arrays.stream(given.split(" ")).filter(s -> !s.isEmpty()).toList()),
                    r -> r.exitCode() + " " + r.output().strip(),
                    r -> java.util.Map.of("exit_code", r.exitCode(), "output", r.output()), r -> false);
            default -> serve(JsonRpc.protocol(), command, tasks, JsonRpc::task,
                    r -> r.isError() ? dev.scythe.pool.Json.write(errorObject(r)) : dev.scythe.pool.Json.write(r.result()),
                    r -> r.isError() ? errorObject(r) : r.result(), JsonRpc.Reply::isError);
        };
    }

    private static java.util.Map<String, Object> errorObject(JsonRpc.Reply r) {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("code", r.error().code());
        m.put("message", r.error().message());
        return m;
    }

    private static List<String> withPersistentFlag(List<String> command) {
        if (command.contains("--persistent_worker")) {
            return command;
        }
        List<String> c = new ArrayList<>(command);
        c.add("--persistent_worker");
        return c;
    }

    private static final class Unreadable extends RuntimeException {
        Unreadable(String message) {
            super(message, null, false, false);
        }
    }

    private <Q, R> int serve(Protocol<Q, R> proto, List<String> command, List<String> given,
                             Function<String, Q> toRequest, Function<R, String> text, Function<R, Object> jsonValue,
                             java.util.function.Predicate<R> isError) {
        @SuppressWarnings("unchecked")
        TaskKind<Task, Q, R, Void> kind = TaskKind.simple(t -> (Q) t.request());
        ProcessSpec worker = ProcessSpec.builderOfBytes(bytes(command)).build();
        String program = OsStrings.display(bytes(command).get(0));
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger submitted = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        CountDownLatch stop = new CountDownLatch(1);
        Object lock = new Object();
        Interrupts interrupts;
        try (Supervisor supervisor = new Supervisor()) {
            Pool.Builder<Task, Q, R, Void> b = Pool.builder(supervisor, worker, proto, kind).cancelGrace(cancelGrace)
                    .deadline(timeout).stall(stall);
            if (workers != null) {
                b.workers(Math.toIntExact(workers));
            }
            if (maxTasks != null) {
                b.maxTasks(Math.toIntExact(maxTasks));
            }
            if (memoryLimit != null && memoryLimit > 0) {
                b.recycleAboveMemory(memoryLimit);
            }
            try (Pool<Task, Q, R, Void> pool = b.start()) {
                interrupts = new Interrupts(reason -> stop.countDown());
                boolean[] inputDone = {false};
                Function<String, Boolean> submit = line -> {
                    Task task;
                    try {
                        task = new Task(line, toRequest.apply(line), null);
                    } catch (Unreadable e) {
                        task = new Task(line, null, e.getMessage());
                    }
                    submitted.incrementAndGet();
                    if (task.unreadable() != null) {
                        failed.incrementAndGet();
                        print(task.given(), "unreadable", null, null, task.unreadable(), Duration.ZERO, null, -1, lock);
                        completed.incrementAndGet();
                        done(completed, submitted, inputDone, stop, lock);
                        return true;
                    }
                    pool.submit(task).whenComplete((r, t) -> {
                        report(r, text, jsonValue, isError, failed, lock);
                        completed.incrementAndGet();
                        done(completed, submitted, inputDone, stop, lock);
                    });
                    return true;
                };
                Thread reader = new Thread(() -> {
                    try {
                        if (given != null) {
                            given.forEach(submit::apply);
                        } else {
                            BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                            for (String line; (line = r.readLine()) != null; ) {
                                if (!line.isBlank()) {
                                    submit.apply(line.strip());
                                }
                            }
                        }
                    } catch (IOException e) {
                        err.println("scythe pool: reading tasks from standard input failed: " + e.getMessage());
                        failed.incrementAndGet();
                    } finally {
                        synchronized (lock) {
                            inputDone[0] = true;
                        }
                        done(completed, submitted, inputDone, stop, lock);
                    }
                }, "scythe-pool-tasks");
                reader.setDaemon(true);
                reader.start();
                stop.await();
                if (interrupts.status() == 0 && pool.failing()) {
                    var w = pool.workers().get(0);
                    err.println("scythe pool: " + program + " workers are failing: " + w.state());
                }
            } // closing the pool kills every worker's tree and waits for it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return dev.scythe.Outcome.STATUS_SCYTHE_FAILED;
        }
        if (interrupts.status() != 0) {
            return interrupts.status();
        }
        return failed.get() == 0 ? 0 : 1;
    }

    /** One more task completed (or, with none, the input ended): the last one ends the command. */
    private static void done(AtomicInteger completed, AtomicInteger submitted, boolean[] inputDone,
                             CountDownLatch stop, Object lock) {
        synchronized (lock) {
            if (inputDone[0] && completed.get() == submitted.get()) {
                stop.countDown();
            }
        }
    }

    private <R> void report(Result<R> r, Function<R, String> text, Function<R, Object> jsonValue,
                            java.util.function.Predicate<R> isError, AtomicInteger failed, Object lock) {
        if (r instanceof Result.Response<R> ok) {
            String outcome = isError.test(ok.value()) ? "error" : "response";
            print(r.task(), outcome, text.apply(ok.value()), jsonValue.apply(ok.value()), null, r.wall(), ok.worker(),
                    ok.pid(), lock);
        } else {
            failed.incrementAndGet();
            Result.Failure<R> f = (Result.Failure<R>) r;
            String worker = r instanceof Result.WorkerDied<R> d ? d.worker()
                    : r instanceof Result.ProtocolError<R> p ? p.worker() : null;
            int pid = r instanceof Result.WorkerDied<R> d ? d.pid() : -1;
            print(r.task(), kind(f), null, null, f.message(), r.wall(), worker, pid, lock);
        }
    }

    /** The name of a failure, as lines and JSON spell it. */
    static String kind(Result.Failure<?> f) {
        return switch (f) {
            case Result.WorkerDied<?> d -> "worker_died";
            case Result.TimedOut<?> t -> "timed_out";
            case Result.Stalled<?> s -> "stalled";
            case Result.Cancelled<?> c -> "cancelled";
            case Result.ProtocolError<?> p -> "protocol_error";
            case Result.EncodeError<?> e -> "encode_error";
            case Result.Dropped<?> d -> "dropped";
            case Result.Quarantined<?> q -> "quarantined";
            case Result.Unavailable<?> u -> "unavailable";
        };
    }

    /** One task's line, as it completes. */
    record Line(String task, String outcome, Object result, String message, BigDecimal wallMs, String worker,
                Integer pid) {}

    private void print(String task, String outcome, String text, Object value, String message, Duration wall,
                       String worker, int pid, Object lock) {
        String line;
        if (json) {
            line = Json.write(new Line(task, outcome, value, message, Durations.millisNumber(wall), worker,
                    pid > 0 ? pid : null));
        } else {
            line = String.join("\t", task, outcome, text != null ? text : message,
                    String.format(Locale.ROOT, "%.1fms", wall.toNanos() / 1e6), worker == null ? "-" : worker);
        }
        synchronized (lock) {
            out.println(line);
            out.flush();
        }
    }
}
