package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.scythe.cli.MainTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Every command's --json, in every outcome, follows the one schema documented in docs/cli.md. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JsonSchemaTest extends LeakCheckedTest {
    static final JsonMapper MAPPER = JsonMapper.builder().build();
    static final Schema SCHEMA = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(read(dev.scythe.Checkout.resolve("docs/cli.schema.json")), InputFormat.JSON);

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Parses the command's JSON and asserts it validates; returns it for further checks. */
    static JsonNode valid(Result r) {
        JsonNode node = MAPPER.readTree(r.out());
        List<Error> errors = SCHEMA.validate(node);
        assertTrue(errors.isEmpty(), errors + " in " + r.out());
        assertEquals(r.status(), node.get("exit_status").asInt(), "exit_status is what scythe exits with");
        return node;
    }

    @Test
    void runInEveryOutcome(@TempDir Path dir) throws Exception {
        List<String> kinds = new ArrayList<>();
        Path notExecutable = Files.writeString(dir.resolve("plain"), "x");
        Files.createDirectories(dir.resolve("p"));
        String[][] runs = {
            {"--", "sh", "-c", "echo proved"},
            {"--", "sh", "-c", "exit 3"},
            {"--", "sh", "-c", "kill -SEGV $$"},
            {"--timeout", "100ms", "--", "sleep", "30"},
            {"--stall", "200ms", "--progress", dir.resolve("p").toString(), "--", "sleep", "30"},
            {"--cpu-limit", "100ms", "--", "sh", "-c", "while :; do :; done"},
            {"--", "/nonexistent/prover"},
            {"--", notExecutable.toString()},
        };
        for (String[] args : runs) {
            String[] full = new String[args.length + 2];
            full[0] = "run";
            full[1] = "--json";
            System.arraycopy(args, 0, full, 2, args.length);
            JsonNode node = valid(MainTest.cli(full));
            kinds.add(node.get("outcome").get("kind").asString());
        }
        assertEquals(List.of("success", "failure", "crashed", "timed_out", "stalled", "resource_exceeded",
                "spawn_failed", "spawn_failed"), kinds);
    }

    @Test
    void raceAndDeepen(@TempDir Path dir) throws Exception {
        JsonNode won = valid(MainTest.cli("race", "--json", "--", "sh", "-c", "sleep 0.1; echo unsat", ":::", "sleep",
                "30", ":::", "sh", "-c", "exit 2"));
        assertEquals("first", won.get("mode").asString(), "--mode comes back spelled as given");
        assertEquals("won", won.get("end").asString());
        assertEquals("preempted", won.get("entrants").get(1).get("outcome").get("kind").asString());
        assertEquals(2, won.get("entrants").get(2).get("outcome").get("exit_code").asInt());
        JsonNode timedOut = valid(MainTest.cli("race", "--json", "--mode", "seq", "--timeout", "200ms", "--", "sleep",
                "30", ":::", "true"));
        assertEquals("timed_out", timedOut.get("end").asString());
        assertEquals("seq", timedOut.get("mode").asString());
        JsonNode nobody = valid(MainTest.cli("race", "--json", "--mode", "best", "--", "false", ":::",
                "/nonexistent/prover"));
        assertEquals("no_winner", nobody.get("end").asString());
        JsonNode spawn = nobody.get("entrants").get(1).get("outcome");
        assertEquals(2, spawn.get("errno").asInt(), "a spawn_failed entrant carries its errno");
        assertTrue(spawn.get("message").asString().contains("No such file"), spawn.toString());

        Files.createDirectories(dir.resolve("p"));
        JsonNode deepen = valid(MainTest.cli("deepen", "--json", "--max-depth", "4", "--per-depth-timeout", "50ms",
                "--max-attempts", "2", "--progress", dir.resolve("p").toString(), "--", "sh", "-c", "sleep 30 # {depth}"));
        assertEquals(2, deepen.get("attempts").size());
        assertEquals("stalled", deepen.get("outcome").get("kind").asString());
    }

    @Test
    void base64GivesTheBytesExactly() {
        JsonNode node = valid(MainTest.cli("run", "--json", "--base64", "--", "printf", "A\\377\\376B"));
        byte[] bytes = Base64.getDecoder().decode(node.get("stdout").get("base64").asString());
        assertEquals("41fffe42", java.util.HexFormat.of().formatHex(bytes));
        assertEquals(4, node.get("stdout").get("head_bytes").asInt());
    }

    @Test
    void theSchemaRejectsWhatItShould() {
        // The schema is not a rubber stamp: the old shapes fail it.
        for (String old : new String[] {
            "{\"command\":[\"true\"],\"pid\":1,\"outcome\":\"success\",\"exit_status\":0}",
            "{\"mode\":\"first_success\",\"winner\":null,\"timed_out\":false,\"entrants\":[]}",
        }) {
            assertFalse(SCHEMA.validate(MAPPER.readTree(old)).isEmpty(), old);
        }
    }

    /** Every line of {@code pool --json}, in every kind of task result the shell can reach, follows pool_task. */
    @Test
    void poolLinesInEveryOutcome() throws Exception {
        Path corpus = dev.scythe.Checkout.resolve("corpus/smt2");
        java.util.Set<String> outcomes = new java.util.TreeSet<>();
        String[][] runs = {
            {"--", "python3", PoolCommandTest.echo(), ":::", "a", "b"},
            {"--protocol", "smtlib", "--timeout", "300ms", "--", "z3", "-in", ":::",
                corpus.resolve("uf-holes-5-4.smt2").toString(), corpus.resolve("factor-composite-28.smt2").toString(),
                "/nonexistent.smt2"},
            {"--workers", "1", "--", "sh", "-c", "exit 3", ":::", "t1", "t2"},
        };
        for (String[] run : runs) {
            List<String> args = new ArrayList<>(List.of("pool", "--json"));
            args.addAll(List.of(run));
            Result r = MainTest.cli(args.toArray(String[]::new));
            for (String line : r.out().strip().split("\n")) {
                JsonNode node = MAPPER.readTree(line);
                List<Error> errors = SCHEMA.validate(node);
                assertTrue(errors.isEmpty(), errors + " in " + line);
                outcomes.add(node.get("outcome").asText());
            }
        }
        assertTrue(outcomes.containsAll(List.of("response", "unreadable")), outcomes.toString());
        if (dev.scythe.eval.Provers.onPath("z3")) { // without z3 its run gives unavailable (its workers cannot start)
            assertTrue(outcomes.contains("timed_out"), outcomes.toString());
        }
        assertTrue(outcomes.contains("worker_died") || outcomes.contains("unavailable"), outcomes.toString());
        String missing = "{\"task\":\"t\",\"outcome\":\"response\",\"result\":1,\"message\":\"no\",\"wall_ms\":1,"
                + "\"worker\":\"w0#1\",\"pid\":3}";
        assertFalse(SCHEMA.validate(MAPPER.readTree(missing)).isEmpty(), "a response has no message");
    }
}
