package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code scythe pool} in this JVM, with real workers: every protocol, failures, and its command-line errors. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PoolCommandTest extends LeakCheckedTest {
    static final Path WORKERS = Path.of("../core/src/test/resources/workers").toAbsolutePath().normalize();
    static final Path CORPUS = Path.of("../../corpus").toAbsolutePath().normalize();

    static String echo() {
        return WORKERS.resolve("echo_worker.py").toString();
    }

    /** Lines of a run's stdout, by task (the first field). */
    static Map<String, String[]> byTask(String out) {
        Map<String, String[]> lines = new HashMap<>();
        for (String line : out.split("\n")) {
            if (!line.isEmpty()) {
                String[] f = line.split("\t");
                lines.put(f[0], f);
            }
        }
        return lines;
    }

    @Test
    void jsonrpcTasksGetOneLineEachAsTheyComplete() {
        var r = MainTest.cli("pool", "--workers", "2", "--", "python3", echo(), ":::", "a", "b c", "é");
        assertEquals(0, r.status(), r.err());
        var lines = byTask(r.out());
        assertEquals(3, lines.size(), r.out());
        for (String t : List.of("a", "b c", "é")) {
            String[] f = lines.get(t);
            assertEquals(5, f.length, Arrays.toString(f));
            assertEquals("response", f[1]);
            assertEquals("{\"echo\":\"" + t + "\"}", f[2]);
            assertTrue(f[3].matches("\\d+\\.\\dms"), f[3]);
            assertTrue(f[4].matches("w[01]#\\d+"), f[4]);
        }
    }

    @Test
    void jsonLinesCarryEveryKey() throws Exception {
        var r = MainTest.cli("pool", "--json", "--workers", "1", "--", "python3", echo(), ":::", "x", "y");
        assertEquals(0, r.status(), r.err());
        ObjectMapper m = new ObjectMapper();
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) {
            nodes.add(m.readTree(line));
        }
        assertEquals(2, nodes.size());
        for (JsonNode n : nodes) {
            List<String> keys = new ArrayList<>();
            n.fieldNames().forEachRemaining(keys::add);
            assertEquals(List.of("task", "outcome", "result", "message", "wall_ms", "worker", "pid"), keys);
            assertEquals("response", n.get("outcome").asText());
            assertEquals(n.get("task").asText(), n.get("result").get("echo").asText());
            assertTrue(n.get("pid").asLong() > 0);
        }
    }

    @Test
    void smtlibTasksAreFilesAndAnswersMatchTheirStatus() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/z3")), "needs z3 (Debian package z3)");
        Map<String, String> status = new HashMap<>();
        List<String> args = new ArrayList<>(List.of("pool", "--protocol", "smtlib", "--workers", "2", "--", "z3",
                "-in", ":::"));
        for (String line : Files.readAllLines(CORPUS.resolve("index.tsv"))) {
            String[] f = line.split("\t");
            if (f[0].startsWith("smt2/uf-") || f[0].startsWith("smt2/lia-planted")) { // the quick ones
                status.put(CORPUS.resolve(f[0]).toString(), f[2]);
                args.add(CORPUS.resolve(f[0]).toString());
            }
        }
        args.add("/nonexistent/goal.smt2");
        var r = MainTest.cli(args.toArray(String[]::new));
        assertEquals(1, r.status(), "one task could not be read: " + r.out() + r.err());
        var lines = byTask(r.out());
        assertEquals(status.size() + 1, lines.size(), r.out());
        status.forEach((file, expected) -> {
            assertEquals("response", lines.get(file)[1], file);
            assertEquals(expected, lines.get(file)[2], file);
        });
        String[] missing = lines.get("/nonexistent/goal.smt2");
        assertEquals("unreadable", missing[1]);
        assertEquals("cannot read /nonexistent/goal.smt2: no such file", missing[2]);
    }

    @Test
    void bazelTasksAreArgumentLists() {
        var r = MainTest.cli("pool", "--protocol", "bazel", "--", "python3", WORKERS.resolve("bazel_worker.py")
                .toString(), ":::", "compile a.c", "fail b.c");
        assertEquals(0, r.status(), r.err());
        var lines = byTask(r.out());
        assertEquals("0 compile a.c", lines.get("compile a.c")[2]);
        assertEquals("1 fail b.c", lines.get("fail b.c")[2]);
    }

    @Test
    void tasksWithoutAResponseMakeTheStatus1() {
        // A worker that dies at once. A task sent to it dies with it (each worker takes one at a time), and after five
        // deaths in a row its slot gives up: with eight tasks, at least three are refused, however the deaths and the
        // dispatches interleave, and the command says why.
        var tasks = List.of("t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8");
        var args = new ArrayList<>(List.of("pool", "--workers", "1", "--", "sh", "-c", "echo cannot serve >&2; exit 3",
                ":::"));
        args.addAll(tasks);
        var failing = MainTest.cli(args.toArray(String[]::new));
        assertEquals(1, failing.status());
        var lines = byTask(failing.out());
        assertEquals(tasks.size(), lines.size(), failing.out());
        int died = 0;
        for (String[] f : lines.values()) {
            assertTrue(List.of("worker_died", "unavailable").contains(f[1]), Arrays.toString(f));
            assertTrue(f[2].contains("exit 3"), Arrays.toString(f));
            died += f[1].equals("worker_died") ? 1 : 0;
        }
        assertTrue(died <= 5, "a slot gives up after five deaths in a row: " + failing.out());
        assertTrue(failing.err().contains("workers are failing"), failing.err());
    }

    @Test
    void badOptionsAreNamedWithStatus125() {
        var r = MainTest.cli("pool", "--protocol", "grpc", "--", "true", ":::", "a");
        assertEquals(125, r.status());
        assertTrue(r.err().contains("--protocol") && r.err().contains("jsonrpc, smtlib or bazel"), r.err());
        var none = MainTest.cli("pool", "--", ":::", "a");
        assertEquals(125, none.status());
        assertTrue(none.err().contains("worker command"), none.err());
        var zero = MainTest.cli("pool", "--workers", "0", "--", "true", ":::", "a");
        assertEquals(125, zero.status());
        assertTrue(zero.err().contains("--workers"), zero.err());
    }
}
