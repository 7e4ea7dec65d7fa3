package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.scythe.cli.MainTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Every object's keys come in the order docs/cli.schema.json lists them ({@code required}, then the optional ones),
 * and times are written with three decimals: the schema does not say either, people and diffs read both.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JsonKeysTest extends LeakCheckedTest {
    static final JsonNode DEFS = JsonSchemaTest.MAPPER.readTree(read()).get("$defs");

    private static String read() {
        try {
            return Files.readString(dev.scythe.Checkout.resolve("docs/cli.schema.json"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The schema's keys of a definition: its required ones in order, then the others present in {@code node}. */
    private static void inOrder(String def, JsonNode node) {
        List<String> expected = new ArrayList<>();
        DEFS.get(def).get("required").forEach(k -> expected.add(k.asString()));
        DEFS.get(def).get("properties").propertyNames().stream()
                .filter(k -> !expected.contains(k) && node.has(k)).forEach(expected::add);
        assertEquals(expected, List.copyOf(node.propertyNames()), def + ": " + node);
    }

    private static JsonNode json(String... args) {
        Result r = MainTest.cli(args);
        return JsonSchemaTest.valid(r);
    }

    @Test
    void keysInTheSchemasOrder(@TempDir Path dir) throws Exception {
        JsonNode run = json("run", "--json", "--base64", "--", "sh", "-c", "echo proved");
        inOrder("run", run);
        inOrder("outcome", run.get("outcome"));
        inOrder("output", run.get("stdout"));
        assertEquals(List.of("text", "bytes", "dropped", "complete", "lost", "base64", "head_bytes"),
                List.copyOf(run.get("stdout").propertyNames()));
        inOrder("output", json("run", "--json", "--", "true").get("stdout"));

        JsonNode race = json("race", "--json", "--", "true", ":::", "sleep", "30");
        inOrder("race", race);
        inOrder("output", race.get("winner_stdout"));
        for (JsonNode e : race.get("entrants")) {
            assertEquals(List.of("index", "name", "started", "succeeded", "pid", "outcome"),
                    List.copyOf(e.propertyNames()));
            inOrder("outcome", e.get("outcome"));
        }

        Files.createDirectories(dir.resolve("p"));
        JsonNode deepen = json("deepen", "--json", "--max-depth", "2", "--per-depth-timeout", "50ms",
                "--max-attempts", "1", "--progress", dir.resolve("p").toString(), "--", "sh", "-c", "sleep 30 # {depth}");
        inOrder("deepen", deepen);
        assertEquals(List.of("attempt", "depth", "window_ms", "outcome"),
                List.copyOf(deepen.get("attempts").get(0).propertyNames()));
    }

    @Test
    void millisecondsHaveThreeDecimals() {
        String out = MainTest.cli("run", "--json", "--stall", "300ms", "--progress-output", "--", "sleep", "30").out();
        assertEquals(true, out.contains("\"stall_window_ms\":300.000,"), out);
        assertEquals(true, out.matches("(?s).*\"wall_ms\":\\d+\\.\\d{3},.*"), out);
    }
}
