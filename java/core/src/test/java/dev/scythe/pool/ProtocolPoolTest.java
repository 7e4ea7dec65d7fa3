package dev.scythe.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.ProcessSpec;
import dev.scythe.Supervisor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The three protocols through a pool, with real workers: a Java and a Python JSON-RPC worker written with the helpers,
 * the Debian z3 and cvc5 over the corpus's SMT-LIB problems, and a Bazel persistent worker.
 */
@Timeout(180)
class ProtocolPoolTest {
    private Leaks.Snapshot baseline;
    private Supervisor supervisor;

    @BeforeEach
    void open() {
        baseline = Leaks.take();
        supervisor = new Supervisor();
    }

    @AfterEach
    void closeAndCheckLeaks() {
        supervisor.close();
        Leaks.assertNoneSince(baseline);
    }

    @Test
    void aJavaWorkerThroughTheJavaHelper() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String cp = Path.of("target/classes").toAbsolutePath() + ":" + Path.of("target/test-classes").toAbsolutePath();
        var kind = TaskKind.<Object, JsonRpc.Call, JsonRpc.Reply>simple(t -> t instanceof JsonRpc.Call c ? c
                : JsonRpc.task(t));
        try (var pool = Pool.builder(supervisor, ProcessSpec.of(java, "-cp", cp, JavaEchoWorker.class.getName()),
                JsonRpc.protocol(), kind).workers(2).start()) {
            List<Pool.Ticket<JsonRpc.Reply>> tickets = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                tickets.add(pool.submit("j" + i));
            }
            for (int i = 0; i < 20; i++) {
                var r = assertInstanceOf(Result.Response.class, tickets.get(i).get(60, TimeUnit.SECONDS));
                var value = (Map<?, ?>) ((JsonRpc.Reply) r.value()).result();
                assertEquals("j" + i, value.get("echo"));
                assertEquals("java", value.get("by"));
                assertEquals((long) r.pid(), ((Number) value.get("pid")).longValue(), "the worker's own pid");
            }
            var error = assertInstanceOf(Result.Response.class, pool.submit(new JsonRpc.Call("fail", null))
                    .get(60, TimeUnit.SECONDS));
            JsonRpc.Reply reply = (JsonRpc.Reply) error.value();
            assertTrue(reply.isError());
            assertEquals(-32001, reply.error().code());
            assertEquals("failed on purpose", reply.error().message());
        }
    }

    @Test
    void aPythonWorkerThroughThePythonHelper() throws Exception {
        var kind = TaskKind.<Object, JsonRpc.Call, JsonRpc.Reply>simple(JsonRpc::task);
        try (var pool = Pool.builder(supervisor, PoolTest.python("echo_worker.py").build(), JsonRpc.protocol(), kind)
                .workers(2).maxInFlight(4).start()) {
            List<Pool.Ticket<JsonRpc.Reply>> tickets = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                tickets.add(pool.submit(Map.of("n", i, "text", "é ∀ \u0000 \"quoted\"")));
            }
            for (int i = 0; i < 40; i++) {
                var r = assertInstanceOf(Result.Response.class, tickets.get(i).get(60, TimeUnit.SECONDS));
                assertEquals(Map.of("echo", Map.of("n", (long) i, "text", "é ∀ \u0000 \"quoted\"")),
                        ((JsonRpc.Reply) r.value()).result());
            }
        }
    }

    /** The corpus's SMT-LIB problems with their known status (corpus/index.tsv). */
    static Map<Path, String> smtProblems() throws Exception {
        Path corpus = Path.of("../../corpus").toAbsolutePath().normalize();
        Map<Path, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(corpus.resolve("index.tsv"))) {
            String[] f = line.split("\t");
            if (f.length == 3 && f[1].equals("smt2")) {
                out.put(corpus.resolve(f[0]), f[2]);
            }
        }
        return out;
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void z3KeptAliveAnswersTheCorpusAsItsStatusSays() throws Exception {
        Assumptions.assumeTrue(onPath("z3"), "needs z3 (Debian package z3)");
        solveCorpus(ProcessSpec.of("z3", "-in"), 12);
    }

    @Test
    void cvc5KeptAliveAnswersTheCorpusAsItsStatusSays() throws Exception {
        Assumptions.assumeTrue(onPath("cvc5"), "needs cvc5 (Debian package cvc5)");
        solveCorpus(ProcessSpec.of("cvc5", "--lang=smt2", "--interactive", "--incremental"), 10);
    }

    /** Every answer matches the known status; the problems too hard for the deadline time out (worker replaced). */
    private void solveCorpus(ProcessSpec solver, int atLeast) throws Exception {
        Map<Path, String> problems = smtProblems();
        assertTrue(problems.size() >= 20, "the corpus has its SMT-LIB problems: " + problems.size());
        var kind = TaskKind.<Path, String, SmtLib.Answer>simple(p -> {
            try {
                return Files.readString(p);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        int solved = 0;
        try (var pool = Pool.builder(supervisor, solver, SmtLib.protocol(), kind).workers(2)
                .deadline(Duration.ofSeconds(4)).start()) {
            Map<Path, Pool.Ticket<SmtLib.Answer>> tickets = new LinkedHashMap<>();
            problems.keySet().forEach(p -> tickets.put(p, pool.submit(p)));
            for (var e : tickets.entrySet()) {
                Result<SmtLib.Answer> r = e.getValue().get(120, TimeUnit.SECONDS);
                if (r instanceof Result.Response<SmtLib.Answer> ok) {
                    assertEquals(List.of(problems.get(e.getKey())), ok.value().answers(), e.getKey() + ": "
                            + ok.value().output());
                    assertEquals(List.of(), ok.value().errors(), e.getKey().toString());
                    solved++;
                } else {
                    assertInstanceOf(Result.TimedOut.class, r, e.getKey() + ": " + r);
                }
            }
        }
        assertTrue(solved >= atLeast, "solved " + solved + " of " + problems.size());
    }

    @Test
    void aBazelPersistentWorker() throws Exception {
        Path worker = Path.of("src/test/resources/workers/bazel_worker.py").toAbsolutePath();
        var kind = TaskKind.<List<String>, Bazel.WorkRequest, Bazel.WorkResponse>simple(Bazel.WorkRequest::new);
        for (List<String> flags : List.of(List.of("--persistent_worker"),
                List.of("--persistent_worker", "--singleplex"))) {
            List<String> cmd = new ArrayList<>(List.of("python3", "-u", worker.toString()));
            cmd.addAll(flags);
            try (var pool = Pool.builder(supervisor, ProcessSpec.builder(cmd.toArray(String[]::new)).build(), Bazel.protocol(), kind)
                    .workers(2).maxInFlight(3).start()) {
                List<Pool.Ticket<Bazel.WorkResponse>> tickets = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    tickets.add(pool.submit(i % 7 == 3 ? List.of("compile", "fail", "x" + i) : List.of("compile",
                            "x" + i)));
                }
                for (int i = 0; i < 30; i++) {
                    var r = assertInstanceOf(Result.Response.class, tickets.get(i).get(60, TimeUnit.SECONDS));
                    var resp = (Bazel.WorkResponse) r.value();
                    assertEquals(i % 7 == 3 ? 1 : 0, resp.exitCode(), flags.toString());
                    assertEquals(i % 7 == 3 ? "compile fail x" + i : "compile x" + i, resp.output(), flags.toString());
                }
            }
        }
    }
}
